"""Segmentation quality of the analyzer engine: Pk and WindowDiff on bayes-seg `.ref`/`.dev` lectures.

Usage: python -m benchmarks.segmentation DIR [--engine lexical|llama|vllm] [--min-seconds S] [--max-seconds S]
       [--wpm N] [--limit N] [--no-merge] [--cost-scale X]

The engine is --engine, else the ENGINE environment variable (`make bench-segmentation ENGINE=llama`),
else the analyzer's configured engine (AIAT_ANALYZER_ENGINE, default llama).

Each sentence line becomes one timed transcript segment (words at a steady rate); the engine is
not told the number of segments. Boundaries are compared at word level with k = half the mean
gold segment length of the document, as bayes-seg evaluates; figures are averaged over documents.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import logging
import os
import statistics
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from aiat.common.v1 import transcript_pb2
from aiat_analyzer import advise
from aiat_analyzer.combine import Evidence, EvidenceProposer, EvidenceWeights
from aiat_analyzer.evidence import learned
from aiat_analyzer.factory import build_engine
from aiat_analyzer.languages import lexicon
from aiat_analyzer.pipeline import AnalyzeOptions, Document, build_document
from aiat_analyzer.segmenter import STOPWORDS, SegmenterParams, SpanTable
from aiat_analyzer.settings import ENGINES, AnalyzerSettings

SEPARATOR = "=========="


@dataclass(frozen=True)
class GoldDoc:
    """One lecture: its sentences (token lists) and gold boundaries as word positions."""

    name: str
    sentences: list[list[str]]
    boundaries: list[int]  # index of the first word of each gold segment after the first
    n_segments: int

    @property
    def n_words(self) -> int:
        """Words in the document."""
        return sum(len(s) for s in self.sentences)

    @property
    def k(self) -> int:
        """Half the mean gold segment length in words (at least 1)."""
        return max(1, round(self.n_words / self.n_segments / 2))


def read_ref(path: Path) -> GoldDoc:
    """A bayes-seg file: one sentence a line, `==========` between gold segments."""
    segments: list[list[list[str]]] = [[]]
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.strip() == SEPARATOR:
            segments.append([])
        elif line.split():
            segments[-1].append(line.split())
    segments = [s for s in segments if s]
    boundaries: list[int] = []
    position = 0
    for seg in segments[:-1]:
        position += sum(len(s) for s in seg)
        boundaries.append(position)
    return GoldDoc(path.name, [s for seg in segments for s in seg], boundaries, len(segments))


def _labels(boundaries: Sequence[int], n: int) -> np.ndarray:
    """Segment number of every word position."""
    marks = np.zeros(n + 1, dtype=np.int64)
    for b in boundaries:
        if 0 < b < n:
            marks[b] += 1
    return np.cumsum(marks)[:n]


def pk(ref: Sequence[int], hyp: Sequence[int], n: int, k: int) -> float:
    """Beeferman's Pk: share of word pairs k apart on whose same-segment status ref and hyp disagree."""
    if n <= k:
        return 0.0
    r, h = _labels(ref, n), _labels(hyp, n)
    return float(np.mean((r[k:] == r[:-k]) != (h[k:] == h[:-k])))


def windowdiff(ref: Sequence[int], hyp: Sequence[int], n: int, k: int) -> float:
    """Pevzner & Hearst's WindowDiff: share of windows of k words with a different boundary count."""
    if n <= k:
        return 0.0
    r, h = _labels(ref, n), _labels(hyp, n)
    return float(np.mean((r[k:] - r[:-k]) != (h[k:] - h[:-k])))


def even_boundaries(doc: GoldDoc) -> list[int]:
    """Gold count of segments, boundaries at evenly spaced sentence ends (as bayes-seg's baseline)."""
    ends = np.cumsum([len(s) for s in doc.sentences])
    n_sent = len(doc.sentences)
    return [int(ends[round(n_sent * j / doc.n_segments) - 1]) for j in range(1, doc.n_segments)]


def build_transcript(doc: GoldDoc, wpm: float) -> tuple[transcript_pb2.Transcript, np.ndarray]:
    """Transcript with one segment per sentence and a word every 60/wpm seconds; word start times."""
    step = 60.0 / wpm
    segments = []
    index = 0
    for i, sent in enumerate(doc.sentences):
        words = [
            transcript_pb2.Word(
                start=(index + j) * step, end=(index + j + 0.9) * step, text=w, probability=1.0
            )
            for j, w in enumerate(sent)
        ]
        segments.append(
            transcript_pb2.Segment(
                id=i, start=words[0].start, end=words[-1].end, text=" ".join(sent), words=words
            )
        )
        index += len(sent)
    transcript = transcript_pb2.Transcript(
        language="en", duration=index * step, segments=segments, engine="bench"
    )
    return transcript, np.arange(index) * step


def texttiling_boundaries(doc: GoldDoc) -> list[int]:
    """nltk TextTiling with default parameters, each sentence a paragraph; boundaries as word positions."""
    from nltk.tokenize.texttiling import TextTilingTokenizer

    text = "\n\n".join(" ".join(s) for s in doc.sentences)
    tiles = TextTilingTokenizer(stopwords=sorted(STOPWORDS)).tokenize(text)
    boundaries: list[int] = []
    position = 0
    for tile in tiles[:-1]:
        position += len(tile.split())
        boundaries.append(position)
    return boundaries


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print per-document lines, a summary table and a JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path)
    parser.add_argument("--min-seconds", type=float, default=120.0)
    parser.add_argument("--max-seconds", type=float, default=1200.0)
    parser.add_argument("--wpm", type=float, default=150.0)
    parser.add_argument("--no-texttiling", action="store_true")
    parser.add_argument("--engine", default=os.environ.get("ENGINE") or None, choices=ENGINES)
    parser.add_argument("--limit", type=int, default=0, help="only the first N documents (0 = all)")
    parser.add_argument("--no-merge", action="store_true", help="LLM engines: label only, never merge")
    parser.add_argument("--cost-scale", type=float, default=None, help="proposer per-segment cost factor")
    parser.add_argument("--cv", action="store_true", help="cross-validated evidence weights and ablation")
    parser.add_argument(
        "--reuse-cache", action="store_true", help="--cv: accept cached dip scores without vectors"
    )
    parser.add_argument(
        "--cache", default="", help="--cv: directory to keep sentence embeddings between runs"
    )
    parser.add_argument(
        "--scorer-only",
        action="store_true",
        help="--cv: only the learned scorer's rows (skip the weight grid)",
    )
    parser.add_argument(
        "--fit-scorer",
        default="",
        help="--cv: also fit the boundary scorer on every lecture and write it to this JSON file",
    )
    args = parser.parse_args(argv)

    paths = sorted([*args.data.glob("*.ref"), *args.data.glob("*.dev")])
    if args.limit:
        paths = paths[: args.limit]
    if not paths:
        print(f"no .ref or .dev files in {args.data}", file=sys.stderr)
        return 2
    if args.cv:
        return run_cv(paths, args)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    overrides: dict[str, object] = {}
    if args.engine:
        overrides["engine"] = args.engine
    if args.no_merge:
        overrides["merge"] = False
    if args.cost_scale is not None:
        overrides["proposer_cost_scale"] = args.cost_scale
    settings = AnalyzerSettings(**overrides)  # type: ignore[arg-type]
    engine = build_engine(settings)
    began = time.perf_counter()
    engine.load()
    load_seconds = time.perf_counter() - began
    options = engine.limits.resolve(min_seconds=args.min_seconds, max_seconds=args.max_seconds)
    options = dataclasses.replace(options, max_snippets=0)  # keep every segment
    rows: dict[str, list[float]] = {k: [] for k in ("pk", "wd", "none_pk", "none_wd", "even_pk", "even_wd")}
    rows |= {"tt_pk": [], "tt_wd": [], "seconds": [], "tt_seconds": [], "found": [], "gold": []}
    print(f"{'doc':10} {'words':>6} {'gold':>4} {'found':>5} {'Pk':>6} {'WD':>6} {'s':>6}")
    for path in paths:
        doc = read_ref(path)
        n, k = doc.n_words, doc.k
        transcript, word_starts = build_transcript(doc, args.wpm)
        began = time.perf_counter()
        items = engine.analyze(transcript, options, lambda *_: None, threading.Event())
        rows["seconds"].append(time.perf_counter() - began)
        cuts = {int(np.searchsorted(word_starts, t, side="left")) for it in items for t in (it.start, it.end)}
        hyp = sorted(c for c in cuts if 0 < c < n)
        rows["pk"].append(pk(doc.boundaries, hyp, n, k))
        rows["wd"].append(windowdiff(doc.boundaries, hyp, n, k))
        rows["none_pk"].append(pk(doc.boundaries, [], n, k))
        rows["none_wd"].append(windowdiff(doc.boundaries, [], n, k))
        even = even_boundaries(doc)
        rows["even_pk"].append(pk(doc.boundaries, even, n, k))
        rows["even_wd"].append(windowdiff(doc.boundaries, even, n, k))
        if not args.no_texttiling:
            began = time.perf_counter()
            tt = texttiling_boundaries(doc)
            rows["tt_seconds"].append(time.perf_counter() - began)
            rows["tt_pk"].append(pk(doc.boundaries, tt, n, k))
            rows["tt_wd"].append(windowdiff(doc.boundaries, tt, n, k))
        rows["found"].append(len(hyp) + 1)
        rows["gold"].append(doc.n_segments)
        print(
            f"{doc.name:10} {n:6d} {doc.n_segments:4d} {len(hyp) + 1:5d} "
            f"{rows['pk'][-1]:6.3f} {rows['wd'][-1]:6.3f} {rows['seconds'][-1]:6.2f}",
            flush=True,
        )

    def mean(key: str) -> float:
        return statistics.fmean(rows[key]) if rows[key] else float("nan")

    print()
    print(
        f"{len(paths)} documents, {args.wpm:g} words/min, engine {engine.name!r} (loaded in {load_seconds:.1f} s, "
        f"merge {settings.merge}, proposer cost x{settings.proposer_cost_scale:g})"
    )
    print(
        f"range {options.min_seconds:g}-{options.max_seconds:g} s, segments found/gold {mean('found'):.1f}/{mean('gold'):.1f}"
    )
    print(f"{'system':34} {'Pk':>6} {'WD':>6} {'s/doc':>6}")
    print(f"{'no boundaries':34} {mean('none_pk'):6.3f} {mean('none_wd'):6.3f}")
    print(f"{'even spacing, gold count':34} {mean('even_pk'):6.3f} {mean('even_wd'):6.3f}")
    if rows["tt_pk"]:
        print(
            f"{'TextTiling (nltk defaults)':34} {mean('tt_pk'):6.3f} {mean('tt_wd'):6.3f} {mean('tt_seconds'):6.2f}"
        )
    print(
        f"{'analyzer ' + engine.name + ' (count not given)':34} {mean('pk'):6.3f} {mean('wd'):6.3f} {mean('seconds'):6.2f}"
    )
    print(
        json.dumps(
            {
                "pk": round(mean("pk"), 4),
                "windowdiff": round(mean("wd"), 4),
                "docs": len(paths),
                "none_pk": round(mean("none_pk"), 4),
                "even_pk": round(mean("even_pk"), 4),
                "texttiling_pk": round(mean("tt_pk"), 4) if rows["tt_pk"] else None,
                "seconds_per_doc": round(mean("seconds"), 3),
            }
        )
    )
    engine.close()
    return 0


# --- cross-validated evidence weights and ablation (--cv) -------------------------------------------

CV_GRID: dict[str, tuple[float, ...]] = {
    "meaning": (0.0, 1.0),
    "cohesion": (0.0, 2.0, 4.0, 8.0),
    "cue": (0.0, 0.3, 0.6, 1.0),
    "reference": (0.0, 0.5),
    "cost_scale": (1.3, 1.7, 2.2),
}


@dataclass
class Prepared:
    """One lecture ready for fast proposals: document, word starts, evidence of every source."""

    gold: GoldDoc
    doc: Document
    word_starts: np.ndarray
    evidence: Evidence
    table: SpanTable


def prepare(
    paths: Sequence[Path], wpm: float, cache: Path | None, options: AnalyzeOptions, reuse: bool = False
) -> list[Prepared]:
    """Documents with every evidence source computed once (embeddings cached under `cache`).

    `reuse`: take a cached meaning-dip score even without cached vectors (the cohesion term is then off).
    """
    full = EvidenceProposer(weights=EvidenceWeights(meaning=1.0, pause=1.0, cue=1.0, reference=1.0))
    out: list[Prepared] = []
    for path in paths:
        gold = read_ref(path)
        transcript, starts = build_transcript(gold, wpm)
        doc = build_document(transcript)
        cached = cache / f"{path.name}.meaning.npy" if cache else None
        if cached is not None and cached.exists() and (reuse or cached.with_suffix(".vectors.npy").exists()):
            ev = EvidenceProposer(weights=EvidenceWeights(pause=1.0, cue=1.0, reference=1.0)).evidence(doc)
            if cached.with_suffix(".vectors.npy").exists():
                ev.vectors = np.load(cached.with_suffix(".vectors.npy"))
            ev.sources["meaning"] = np.load(cached)
        else:
            ev = full.evidence(doc)
            if cached is not None:
                cached.parent.mkdir(parents=True, exist_ok=True)
                np.save(cached, ev.sources["meaning"])
                assert ev.vectors is not None
                np.save(cached.with_suffix(".vectors.npy"), ev.vectors)
        table = full.table(doc, options)
        out.append(Prepared(gold, doc, starts, ev, table))
        print(f"prepared {path.name}", file=sys.stderr, flush=True)
    return out


def score_config(
    docs: Sequence[Prepared], weights: EvidenceWeights, cost_scale: float, options: AnalyzeOptions
) -> tuple[float, float, float]:
    """Mean Pk, WD and segments found of the evidence proposer over `docs`."""
    base = SegmenterParams()
    proposer = EvidenceProposer(
        params=dataclasses.replace(base, segment_cost=base.segment_cost * cost_scale), weights=weights
    )
    pks, wds, found = [], [], []
    for d in docs:
        cands = proposer.propose(d.doc, options, evidence=d.evidence, table=d.table)
        n, k = d.gold.n_words, d.gold.k
        hyp = sorted({int(np.searchsorted(d.word_starts, c.start, side="left")) for c in cands[1:]})
        hyp = [h for h in hyp if 0 < h < n]
        pks.append(pk(d.gold.boundaries, hyp, n, k))
        wds.append(windowdiff(d.gold.boundaries, hyp, n, k))
        found.append(len(hyp) + 1)
    return statistics.fmean(pks), statistics.fmean(wds), statistics.fmean(found)


def tune(
    docs: Sequence[Prepared], options: AnalyzeOptions, fixed: dict[str, float | None] | None = None
) -> tuple[EvidenceWeights, float]:
    """The grid point with the lowest mean Pk on `docs` (sources in `fixed` held at the given value)."""
    fixed = fixed or {}
    axes = [fixed.get(name) for name in CV_GRID]
    grids = [(v,) if v is not None else CV_GRID[name] for name, v in zip(CV_GRID, axes, strict=True)]
    best: tuple[float, EvidenceWeights, float] | None = None
    for meaning, cohesion, cue, reference, scale in itertools.product(*grids):
        w = EvidenceWeights(meaning=meaning, cohesion=cohesion, cue=cue, reference=reference)
        p, _, _ = score_config(docs, w, scale, options)
        if best is None or p < best[0] - 1e-9:
            best = (p, w, scale)
    assert best is not None
    return best[1], best[2]


def cross_validate(
    docs: Sequence[Prepared], options: AnalyzeOptions, fixed: dict[str, float | None]
) -> dict[str, float]:
    """Tune on the odd-numbered lectures, report on the even ones, then the other way; mean of both halves."""
    halves = (docs[0::2], docs[1::2])
    pks, wds, found = [], [], []
    chosen = []
    for train, test in ((halves[0], halves[1]), (halves[1], halves[0])):
        w, scale = tune(train, options, fixed)
        p, wd, f = score_config(test, w, scale, options)
        chosen.append(f"dip {w.meaning:g} coh {w.cohesion:g} cue {w.cue:g} ref {w.reference:g} x{scale:g}")
        pks += [p * len(test)]
        wds += [wd * len(test)]
        found += [f * len(test)]
    n = len(docs)
    return {"pk": sum(pks) / n, "wd": sum(wds) / n, "found": sum(found) / n, "chosen": " | ".join(chosen)}  # type: ignore[dict-item]


SCORER_GAINS = (0.3, 0.5, 0.75, 1.0)
SCORER_COST_SCALES = (2.2, 3.0, 4.0)


def scorer_data(d: Prepared, meaning: bool) -> tuple[np.ndarray, np.ndarray]:
    """The learned scorer's features of a lecture and its labels (1 before a sentence opening a gold segment)."""
    sents = d.doc.sentences
    terms = lexicon(d.doc.language).terms
    x = learned.features(
        sents,
        [terms(s.text) for s in sents],
        advise.reference_scores(sents),
        d.evidence.vectors if meaning else None,
    )
    first_words = np.array([np.searchsorted(d.word_starts, s.start, side="left") for s in sents])
    y = np.zeros(len(sents))
    for b in d.gold.boundaries:
        y[int(np.argmin(np.abs(first_words - b)))] = 1.0
    return x, y


def fit_and_tune(
    docs: Sequence[Prepared], data: Sequence[tuple[np.ndarray, np.ndarray]], options: AnalyzeOptions
) -> tuple[np.ndarray, float, float]:
    """Logistic weights fitted on `docs`, then the gain and cost scale with the lowest mean Pk on them."""
    w = learned.fit_logistic(np.vstack([x[1:] for x, _ in data]), np.concatenate([y[1:] for _, y in data]))
    best: tuple[float, float, float] | None = None
    for gain, scale in itertools.product(SCORER_GAINS, SCORER_COST_SCALES):
        p, _, _ = score_scorer(docs, [x for x, _ in data], w, gain, scale, options)
        if best is None or p < best[0] - 1e-9:
            best = (p, gain, scale)
    assert best is not None
    return w, best[1], best[2]


def score_scorer(
    docs: Sequence[Prepared],
    xs: Sequence[np.ndarray],
    w: np.ndarray,
    gain: float,
    scale: float,
    options: AnalyzeOptions,
) -> tuple[float, float, float]:
    """Mean Pk, WD and segments found with the scorer's log-odds as the only start bonus (pauses: no data)."""
    weights = EvidenceWeights(learned=gain)
    prepared = [
        dataclasses.replace(d, evidence=Evidence({"learned": learned.log_odds(learned.probabilities(x, w))}))
        for d, x in zip(docs, xs, strict=True)
    ]
    return score_config(prepared, weights, scale, options)


def cross_validate_scorer(
    docs: Sequence[Prepared], options: AnalyzeOptions, meaning: bool, drop: tuple[str, ...] = ()
) -> dict[str, float]:
    """As cross_validate, for the learned scorer: fitted and tuned on one half, scored on the other."""
    names = learned.feature_names(meaning)
    keep = [i for i, name in enumerate(names) if not name.startswith(drop)]
    data = []
    for d in docs:
        x, y = scorer_data(d, meaning)
        data.append((x[:, keep], y))
    order = list(range(len(docs)))
    halves = (order[0::2], order[1::2])
    totals = np.zeros(3)
    chosen = []
    for train, test in ((halves[0], halves[1]), (halves[1], halves[0])):
        w, gain, scale = fit_and_tune([docs[i] for i in train], [data[i] for i in train], options)
        r = score_scorer([docs[i] for i in test], [data[i][0] for i in test], w, gain, scale, options)
        totals += np.array(r) * len(test)
        chosen.append(f"gain {gain:g} x{scale:g}")
    totals /= len(docs)
    return {"pk": totals[0], "wd": totals[1], "found": totals[2], "chosen": " | ".join(chosen)}  # type: ignore[dict-item]


def fit_scorer(
    docs: Sequence[Prepared], options: AnalyzeOptions
) -> tuple[learned.BoundaryScorer, tuple[float, float, float]]:
    """The scorer the analyzer ships: fitted and tuned on every lecture; its (in-sample) figures."""
    data = [scorer_data(d, meaning=False) for d in docs]
    w, gain, scale = fit_and_tune(docs, data, options)
    scorer = learned.BoundaryScorer(
        tuple(learned.feature_names(False)), tuple(float(v) for v in w), gain, scale, meaning=False
    )
    return scorer, score_scorer(docs, [x for x, _ in data], w, gain, scale, options)


def run_cv(paths: Sequence[Path], args: argparse.Namespace) -> int:
    """Cross-validated figures for each evidence set (ablation), and the weights tuned on all lectures."""
    cache = Path(args.cache) if args.cache else None
    options = AnalyzeOptions(min_seconds=args.min_seconds, max_seconds=args.max_seconds, max_snippets=0)
    docs = prepare(paths, args.wpm, cache, options, reuse=args.reuse_cache)
    if any(d.evidence.vectors is None for d in docs):
        CV_GRID["cohesion"] = (0.0,)
        print("(no sentence vectors for some lectures: the cohesion term is not tuned)")
    off: dict[str, float | None] = {"meaning": 0.0, "cohesion": 0.0, "cue": 0.0, "reference": 0.0}
    variants: dict[str, dict[str, float | None]] = {
        "words only (cost tuned)": off,
        "words + cues": off | {"cue": None},
        "words + meaning dip": off | {"meaning": None},
        "words + meaning cohesion": off | {"cohesion": None},
        "words + reference penalty": off | {"reference": None},
        "all": {},
        "all but cues": {"cue": 0.0},
        "all but meaning": {"meaning": 0.0, "cohesion": 0.0},
    }
    print(
        f"{'evidence (cross-validated, count not given)':44} {'Pk':>6} {'WD':>6} {'found':>5}  chosen (half A | half B)"
    )
    results = {}
    for label, fixed in variants.items():
        if args.scorer_only:
            break
        r = cross_validate(docs, options, fixed)
        results[label] = r
        print(f"{label:44} {r['pk']:6.3f} {r['wd']:6.3f} {r['found']:5.1f}  {r['chosen']}", flush=True)
    scorer_variants: dict[str, tuple[bool, tuple[str, ...]]] = {
        "learned scorer (words, cues, references, lengths)": (False, ()),
        "learned scorer + meaning features": (True, ()),
        "learned scorer without word-overlap features": (False, ("lex_",)),
        "learned scorer without cues": (False, ("cue_",)),
        "learned scorer without the reference feature": (False, ("reference",)),
        "learned scorer without sentence lengths": (False, ("len_",)),
    }
    for label, (meaning, drop) in scorer_variants.items():
        if meaning and any(d.evidence.vectors is None for d in docs):
            continue
        r = cross_validate_scorer(docs, options, meaning, drop)
        results[label] = r
        print(f"{label:44} {r['pk']:6.3f} {r['wd']:6.3f} {r['found']:5.1f}  {r['chosen']}", flush=True)
    if not args.scorer_only:
        w, scale = tune(docs, options)
        p, wd, _ = score_config(docs, w, scale, options)
        print(
            f"tuned on all {len(docs)}: meaning {w.meaning:g} cue {w.cue:g} cost x{scale:g} -> Pk {p:.3f} WD {wd:.3f} (in-sample)"
        )
    if args.fit_scorer:
        scorer, (p, wd, _) = fit_scorer(docs, options)
        Path(args.fit_scorer).write_text(scorer.to_json() + "\n", encoding="utf-8")
        print(
            f"boundary scorer fitted on all {len(docs)}: gain {scorer.gain:g} cost x{scorer.cost_scale:g} "
            f"-> Pk {p:.3f} WD {wd:.3f} (in-sample), written to {args.fit_scorer}"
        )
    print(json.dumps({k: {"pk": round(v["pk"], 4), "wd": round(v["wd"], 4)} for k, v in results.items()}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
