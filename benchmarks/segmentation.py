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
    opening = [0, 0]  # snippets after the first that open with a reference; all snippets after the first
    print(f"{'doc':10} {'words':>6} {'gold':>4} {'found':>5} {'Pk':>6} {'WD':>6} {'s':>6}")
    for path in paths:
        doc = read_ref(path)
        n, k = doc.n_words, doc.k
        transcript, word_starts = build_transcript(doc, args.wpm)
        began = time.perf_counter()
        items = engine.analyze(transcript, options, lambda *_: None, threading.Event())
        rows["seconds"].append(time.perf_counter() - began)
        later = [it for it in items if it.start > 0]
        opening[0] += sum(any(a.kind == "opens_with_reference" for a in it.advisories) for it in later)
        opening[1] += len(later)
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
    print(f"snippets after the first opening with a reference to earlier material: {opening[0]}/{opening[1]}")
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
                "open_reference_openings": opening,
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


SCORER_GAINS = (0.2, 0.3, 0.5, 0.75, 1.0, 1.5)
SCORER_COST_SCALES = (1.7, 2.2, 3.0, 4.0)
# The procedure's choices, made by nested cross-validation inside each tuning half: optional feature
# groups (learned.EXTRA_GROUPS) and the L2 strength; gain and cost scale are tuned on the fitted lectures.
SCORER_EXTRAS: tuple[tuple[str, ...], ...] = ((), ("vocab",), ("smooth",), ("vocab", "smooth"))
SCORER_L2 = (0.3, 1.0, 3.0)
ALL_EXTRAS = tuple(learned.EXTRA_GROUPS)
Data = Sequence[tuple[np.ndarray, np.ndarray]]


def scorer_data(
    d: Prepared, meaning: bool, extras: Sequence[str] = ALL_EXTRAS
) -> tuple[np.ndarray, np.ndarray]:
    """The learned scorer's features of a lecture and its labels (1 before a sentence opening a gold segment)."""
    sents = d.doc.sentences
    terms = lexicon(d.doc.language).terms
    x = learned.features(
        sents,
        [terms(s.text) for s in sents],
        advise.reference_scores(sents),
        d.evidence.vectors if meaning else None,
        extras,
    )
    first_words = np.array([np.searchsorted(d.word_starts, s.start, side="left") for s in sents])
    y = np.zeros(len(sents))
    for b in d.gold.boundaries:
        y[int(np.argmin(np.abs(first_words - b)))] = 1.0
    return x, y


def columns(data: Data, keep: Sequence[str], meaning: bool = False) -> list[tuple[np.ndarray, np.ndarray]]:
    """`data` (features of every group) reduced to the named columns."""
    names = learned.feature_names(meaning, ALL_EXTRAS)
    idx = [names.index(k) for k in keep]
    return [(x[:, idx], y) for x, y in data]


def fit_and_tune(
    docs: Sequence[Prepared], data: Data, options: AnalyzeOptions, l2: float = 1.0
) -> tuple[np.ndarray, float, float]:
    """Logistic weights fitted on `docs`, then the gain and cost scale with the lowest mean Pk on them."""
    w = learned.fit_logistic(
        np.vstack([x[1:] for x, _ in data]), np.concatenate([y[1:] for _, y in data]), l2=l2
    )
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


def _halves(idx: Sequence[int]) -> tuple[tuple[list[int], list[int]], tuple[list[int], list[int]]]:
    a, b = list(idx[0::2]), list(idx[1::2])
    return (a, b), (b, a)


def _fit_score(
    docs: Sequence[Prepared],
    data: Data,
    train: list[int],
    test: list[int],
    options: AnalyzeOptions,
    l2: float,
) -> tuple[np.ndarray, float, float]:
    """Figures on `test` of the scorer fitted and tuned on `train`; the gain and scale chosen."""
    w, gain, scale = fit_and_tune([docs[i] for i in train], [data[i] for i in train], options, l2)
    r = score_scorer([docs[i] for i in test], [data[i][0] for i in test], w, gain, scale, options)
    return np.array(r), gain, scale


def select_scorer(
    docs: Sequence[Prepared],
    full: Data,
    idx: Sequence[int],
    options: AnalyzeOptions,
    candidates: Sequence[tuple[tuple[str, ...], float]],
) -> tuple[tuple[str, ...], float, float]:
    """The (feature groups, L2) whose fit on one half of `idx` scores best on the other, both ways; its Pk."""
    best: tuple[float, tuple[str, ...], float] | None = None
    for extras, l2 in candidates:
        data = columns(full, learned.feature_names(False, extras))
        total = 0.0
        for train, test in _halves(idx):
            total += _fit_score(docs, data, train, test, options, l2)[0][0] * len(test)
        if best is None or total / len(idx) < best[0] - 1e-9:
            best = (total / len(idx), extras, l2)
    assert best is not None
    return best[1], best[2], best[0]


def scorer_candidates() -> list[tuple[tuple[str, ...], float]]:
    """Every (feature groups, L2) the nested cross-validation chooses among."""
    return list(itertools.product(SCORER_EXTRAS, SCORER_L2))


def nested_cv_scorer(docs: Sequence[Prepared], full: Data, options: AnalyzeOptions) -> dict[str, float]:
    """Outer halves as cross_validate; inside each tuning half, select_scorer picks the procedure first."""
    totals = np.zeros(3)
    chosen = []
    for train, test in _halves(range(len(docs))):
        extras, l2, inner = select_scorer(docs, full, train, options, scorer_candidates())
        data = columns(full, learned.feature_names(False, extras))
        r, gain, scale = _fit_score(docs, data, train, test, options, l2)
        totals += r * len(test)
        chosen.append(f"{'+'.join(extras) or 'base'} L2 {l2:g} gain {gain:g} x{scale:g} (inner {inner:.3f})")
    totals /= len(docs)
    return {"pk": totals[0], "wd": totals[1], "found": totals[2], "chosen": " | ".join(chosen)}  # type: ignore[dict-item]


def cross_validate_scorer(
    docs: Sequence[Prepared], full: Data, options: AnalyzeOptions, keep: Sequence[str], l2: float = 1.0
) -> dict[str, float]:
    """As cross_validate, for a scorer of fixed features and L2: fitted and tuned on one half, scored on the other."""
    data = columns(full, keep, meaning=any(k.startswith("mean_") for k in keep))
    totals = np.zeros(3)
    chosen = []
    for train, test in _halves(range(len(docs))):
        r, gain, scale = _fit_score(docs, data, train, test, options, l2)
        totals += r * len(test)
        chosen.append(f"gain {gain:g} x{scale:g}")
    totals /= len(docs)
    return {"pk": totals[0], "wd": totals[1], "found": totals[2], "chosen": " | ".join(chosen)}  # type: ignore[dict-item]


def fit_scorer(
    docs: Sequence[Prepared], full: Data, options: AnalyzeOptions
) -> tuple[learned.BoundaryScorer, tuple[float, float, float], float]:
    """The scorer the analyzer ships: procedure selected on every lecture as in nested_cv_scorer, then fitted."""
    order = list(range(len(docs)))
    extras, l2, _ = select_scorer(docs, full, order, options, scorer_candidates())
    names = learned.feature_names(False, extras)
    data = columns(full, names)
    w, gain, scale = fit_and_tune(docs, data, options, l2)
    scorer = learned.BoundaryScorer(
        tuple(names), tuple(float(v) for v in w), gain, scale, meaning=False, extras=extras
    )
    return scorer, score_scorer(docs, [x for x, _ in data], w, gain, scale, options), l2


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
    full = [scorer_data(d, meaning=False) for d in docs]
    r = nested_cv_scorer(docs, full, options)
    results["learned scorer, nested"] = r
    print(
        f"{'learned scorer, nested (choices inside halves)':44} {r['pk']:6.3f} {r['wd']:6.3f} {r['found']:5.1f}  {r['chosen']}",
        flush=True,
    )
    base = learned.feature_names(False)
    scorer_variants: dict[str, list[str]] = {
        "learned scorer, 13 base features, L2 1": base,
        "  + vocabulary turnover": learned.feature_names(False, ("vocab",)),
        "  + smoothed depth": learned.feature_names(False, ("smooth",)),
        "  + both": learned.feature_names(False, ("vocab", "smooth")),
        "  without word-overlap features": [k for k in base if not k.startswith("lex_")],
        "  without cues": [k for k in base if not k.startswith("cue_")],
        "  without the reference feature": [k for k in base if k != "reference"],
        "  without sentence lengths": [k for k in base if not k.startswith("len_")],
    }
    for label, keep in scorer_variants.items():
        r = cross_validate_scorer(docs, full, options, keep)
        results[label.strip()] = r
        print(f"{label:44} {r['pk']:6.3f} {r['wd']:6.3f} {r['found']:5.1f}  {r['chosen']}", flush=True)
    if all(d.evidence.vectors is not None for d in docs):
        with_meaning = [scorer_data(d, meaning=True) for d in docs]
        r = cross_validate_scorer(docs, with_meaning, options, learned.feature_names(True))
        results["+ meaning features"] = r
        print(
            f"{'  + MiniLM meaning features':44} {r['pk']:6.3f} {r['wd']:6.3f} {r['found']:5.1f}  {r['chosen']}"
        )
    if not args.scorer_only:
        w, scale = tune(docs, options)
        p, wd, _ = score_config(docs, w, scale, options)
        print(
            f"tuned on all {len(docs)}: meaning {w.meaning:g} cue {w.cue:g} cost x{scale:g} -> Pk {p:.3f} WD {wd:.3f} (in-sample)"
        )
    if args.fit_scorer:
        scorer, (p, wd, _), l2 = fit_scorer(docs, full, options)
        Path(args.fit_scorer).write_text(scorer.to_json() + "\n", encoding="utf-8")
        print(
            f"boundary scorer fitted on all {len(docs)}: {'+'.join(scorer.extras) or 'base'} L2 {l2:g} "
            f"gain {scorer.gain:g} cost x{scorer.cost_scale:g} "
            f"-> Pk {p:.3f} WD {wd:.3f} (in-sample), written to {args.fit_scorer}"
        )
    print(json.dumps({k: {"pk": round(v["pk"], 4), "wd": round(v["wd"], 4)} for k, v in results.items()}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
