"""Slides as boundary evidence: generated slide lectures from the physics transcripts.

Usage: python -m benchmarks.slides DIR [--limit N] [--out DIR] [--seed S]

Each lecture of DIR (bayes-seg `.ref`/`.dev`) becomes a video a lecturer could have made: every gold
topic gets several slides (one per ~60-150 s of speech), a section-title slide only sometimes, bullets
that build in one at a time, a speaker inset moving in a corner, camera noise, and slide changes a few
seconds off the spoken boundary. Words are timed as in benchmarks.segmentation (150 words/min). The
detector runs on the video; the figures are slide-change precision/recall (within 2 s), title OCR
accuracy, and Pk/WD of the shipped proposer with and without the detected slides (the section-title
slide weight and snapping cross-validated over two halves of the lectures). Detections are kept as
`<lecture>-<seed>.slides.json` in --out, so a second run only re-scores.
"""

from __future__ import annotations

import argparse
import difflib
import itertools
import json
import random
import re
import statistics
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import av
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from aiat_analyzer.combine import DEFAULT_WEIGHTS, EvidenceProposer
from aiat_analyzer.factory import build_engine
from aiat_analyzer.pipeline import AnalyzeOptions, SlideInfo, build_document
from aiat_analyzer.segmenter import STOPWORDS
from aiat_analyzer.settings import AnalyzerSettings
from aiat_analyzer.slides import SlideParams, detect_slides
from benchmarks.segmentation import GoldDoc, build_transcript, pk, read_ref, windowdiff

W, H, FPS = 960, 540, 1
# (section-title slide weight, seconds a cut may snap to a slide change): the grid cross-validated
GRID = tuple((w, snap) for snap in (0.0, 45.0) for w in (0.0, 0.5, 1.0, 1.5, 2.0, 4.0))
NO_SNAP = tuple(g for g in GRID if not g[1])
SHIPPED = (DEFAULT_WEIGHTS.slide_section, DEFAULT_WEIGHTS.slide_snap)


def _key(c: tuple[float, float]) -> str:
    return f"section {c[0]:g}, snap {c[1]:g} s"


FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
WORD_SECONDS = 0.4


@dataclass(frozen=True)
class GenSlide:
    """One generated slide: when it shows, its title, bullets and when each bullet appears."""

    start: float
    title: str
    bullets: tuple[str, ...]
    build_times: tuple[float, ...]
    section: bool = False


def _keywords(sentences: Sequence[Sequence[str]], n: int) -> list[str]:
    words = Counter(
        w.lower() for s in sentences for w in s if w.isalpha() and len(w) > 3 and w.lower() not in STOPWORDS
    )
    return [w for w, _ in words.most_common(n)]


def plan_slides(doc: GoldDoc, rng: random.Random) -> list[GenSlide]:
    """Slides for a lecture: several per gold topic, at sentence starts, changes jittered by ±3 s."""
    starts = np.cumsum([0] + [len(s) for s in doc.sentences]) * WORD_SECONDS
    topic_first = [0]
    pos = 0
    for i, s in enumerate(doc.sentences):
        if pos in doc.boundaries and i:
            topic_first.append(i)
        pos += len(s)
    topic_first.append(len(doc.sentences))
    slides: list[GenSlide] = []
    for a, b in itertools.pairwise(topic_first):
        topic_words = _keywords(doc.sentences[a:b], 2)
        cuts = [a]
        while True:
            nxt = cuts[-1]
            target = starts[nxt] + rng.uniform(60, 150)
            while nxt < b and starts[nxt] < target:
                nxt += 1
            if nxt >= b or starts[b] - starts[nxt] < 40:
                break
            cuts.append(nxt)
        t0 = max(0.0, starts[a] + rng.uniform(-3, 3)) if a else 0.0
        if rng.random() < 0.4:  # a section-title slide, shown briefly
            slides.append(GenSlide(t0, " ".join(w.capitalize() for w in topic_words), (), (), section=True))
            t0 += rng.uniform(6, 12)
        for j, c in enumerate(cuts):
            end = cuts[j + 1] if j + 1 < len(cuts) else b
            t = t0 if j == 0 else max(slides[-1].start + 5, starts[c] + rng.uniform(-3, 3))
            own = _keywords(doc.sentences[c:end], 2)
            title = " ".join(w.capitalize() for w in (own or topic_words))
            n_b = rng.randint(2, 4)
            span = starts[end] - t
            bullets = tuple(
                " ".join(doc.sentences[c + k * (end - c) // n_b][:6])
                for k in range(n_b)
                if c + k * (end - c) // n_b < end
            )
            builds = tuple(t + span * k / (len(bullets) + 1) for k in range(len(bullets)))
            slides.append(GenSlide(t, title, bullets, builds))
    return slides


def render(doc: GoldDoc, slides: Sequence[GenSlide], path: Path, rng: random.Random) -> float:
    """An H.264 video of the slides with builds, a moving speaker inset and camera noise; its duration."""
    duration = doc.n_words * WORD_SECONDS
    title_font = ImageFont.truetype(str(FONT_DIR / "DejaVuSans-Bold.ttf"), 40)
    section_font = ImageFont.truetype(str(FONT_DIR / "DejaVuSans-Bold.ttf"), 56)
    body_font = ImageFont.truetype(str(FONT_DIR / "DejaVuSans.ttf"), 24)
    noise = [np.random.default_rng(k).integers(-6, 7, (H, W, 3), dtype=np.int16) for k in range(4)]
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = W, H, "yuv420p"
        stream.options = {"preset": "ultrafast", "crf": "28"}
        n_frames = int(duration * FPS) + 1
        cache: dict[tuple[int, int], list[np.ndarray]] = {}
        si = 0
        for f in range(n_frames):
            t = f / FPS
            while si + 1 < len(slides) and slides[si + 1].start <= t:
                si += 1
            s = slides[si]
            shown = sum(1 for bt in s.build_times if bt <= t)
            key = (si, shown)
            if key not in cache:
                cache.clear()
                img = Image.new("RGB", (W, H), (250, 250, 245))
                d = ImageDraw.Draw(img)
                if s.section:
                    d.text((W // 2, H // 2), s.title, font=section_font, fill=(20, 40, 120), anchor="mm")
                else:
                    d.rectangle((0, 0, W, 80), fill=(225, 232, 245))
                    d.text((40, 20), s.title, font=title_font, fill=(20, 30, 80))
                    for k, bullet in enumerate(s.bullets[:shown]):
                        d.text((60, 120 + 60 * k), "• " + bullet[:60], font=body_font, fill=(30, 30, 30))
                base = np.asarray(img, dtype=np.int16)
                # camera noise: a few noisy versions of each look, cycled
                cache[key] = [np.clip(base + n, 0, 255).astype(np.uint8) for n in noise]
            frame = cache[key][f % len(noise)].copy()
            # the speaker inset: a figure moving left and right in the lower-right corner
            x0, y0 = W - 220, H - 170
            frame[y0 : H - 10, x0 : W - 10] = (60, 70, 80)
            cx = x0 + 40 + int(60 * (1 + np.sin(t / 3.0)))
            cy = y0 + 60 + int(10 * np.sin(t * 1.7))
            frame[cy - 30 : cy + 60, cx - 20 : cx + 20] = (200, 160, 130)
            vf = av.VideoFrame.from_ndarray(frame, format="rgb24")
            for packet in stream.encode(vf):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    del rng
    return duration


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


def change_pr(truth: Sequence[float], found: Sequence[float], tol: float = 2.0) -> tuple[int, int, int]:
    """(matched, truth count, found count) of slide changes after the first, each matched once within tol."""
    used: set[int] = set()
    matched = 0
    for t in truth:
        best = None
        for i, f in enumerate(found):
            if i not in used and abs(f - t) <= tol and (best is None or abs(f - t) < abs(found[best] - t)):
                best = i
        if best is not None:
            used.add(best)
            matched += 1
    return matched, len(truth), len(found)


def boundaries_of(cands: Sequence, word_starts: np.ndarray, n: int) -> list[int]:
    """Word positions of the candidates' starts after the first."""
    hyp = sorted({int(np.searchsorted(word_starts, c.start, side="left")) for c in cands[1:]})
    return [h for h in hyp if 0 < h < n]


def _detected(
    doc: GoldDoc, gen: Sequence[GenSlide], video: Path, rng: random.Random, keep: bool
) -> tuple[list[SlideInfo], float]:
    """The slides detected in the lecture's video (rendered once per seed) and the detection time.

    Kept as JSON beside the video, so re-scoring needs neither; the video (~230 MB) is deleted unless `keep`.
    """
    cached = video.with_suffix(".slides.json")
    if cached.exists():
        data = json.loads(cached.read_text())
        return [SlideInfo(**s) for s in data["slides"]], float(data["seconds"])
    if not video.exists():  # a run stopped mid-render leaves only the .part
        part = video.with_suffix(".part.mp4")
        render(doc, gen, part, rng)
        part.rename(video)
    began = time.perf_counter()
    found = detect_slides(video, SlideParams())
    seconds = time.perf_counter() - began
    slides = [SlideInfo(s.start, s.title, s.text) for s in found]  # as the cache gives them back
    cached.write_text(json.dumps({"slides": [vars(s) for s in slides], "seconds": seconds}))
    if not keep:
        video.unlink()
    return slides, seconds


def main(argv: Sequence[str] | None = None) -> int:
    """Generate, detect, score; print a table and a JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path)
    parser.add_argument("--limit", type=int, default=8, help="lectures to generate (0 = all)")
    parser.add_argument("--out", type=Path, default=Path("/tmp/aiat-bench-slides"))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--min-seconds", type=float, default=120.0)
    parser.add_argument("--max-seconds", type=float, default=1200.0)
    parser.add_argument("--keep-videos", action="store_true", help="keep the rendered videos (~230 MB each)")
    args = parser.parse_args(argv)
    paths = sorted([*args.data.glob("*.ref"), *args.data.glob("*.dev")])
    if args.limit:
        paths = paths[:: max(1, len(paths) // args.limit)][: args.limit]
    if not paths:
        print(f"no .ref or .dev files in {args.data}", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    options = AnalyzeOptions(min_seconds=args.min_seconds, max_seconds=args.max_seconds, max_snippets=0)
    shipped = build_engine(AnalyzerSettings(engine="lexical")).proposer
    assert isinstance(shipped, EvidenceProposer)
    full = EvidenceProposer(
        shipped.params, replace(shipped.weights, slide_section=1.0, slide_snap=45.0), scorer=shipped.scorer
    )
    rows = []
    print(
        f"{'doc':8} {'slides':>6} {'found':>5} {'P':>5} {'R':>5} {'title':>5} {'Pk-':>6} {'Pk+':>6} {'det s':>6} {'video s':>7}"
    )
    for path in paths:
        rng = random.Random(f"{args.seed}-{path.name}")
        doc = read_ref(path)
        gen = plan_slides(doc, rng)
        found, det_seconds = _detected(
            doc, gen, args.out / f"{path.stem}-{args.seed}.mp4", rng, args.keep_videos
        )
        m, nt, nf = change_pr([s.start for s in gen[1:]], [s.start for s in found[1:]])
        titles = []
        for g in gen:
            near = min(found, key=lambda s: abs(s.start - g.start))
            if abs(near.start - g.start) <= 2.0:
                titles.append((_norm(g.title), _norm(near.title)))
        transcript, word_starts = build_transcript(doc, 150.0)
        d = build_document(transcript)
        ev = full.evidence(d, found)
        table = full.table(d, options)
        n, k = doc.n_words, doc.k
        res = {"name": path.name, "m": m, "nt": nt, "nf": nf, "titles": titles, "det": det_seconds}
        for key, (section, snap) in {"none": (0.0, 0.0), **{_key(c): c for c in GRID}}.items():
            prop = EvidenceProposer(
                shipped.params,
                replace(shipped.weights, slide_section=section, slide_snap=snap),
                scorer=shipped.scorer,
            )
            hyp = boundaries_of(
                prop.propose(d, options, evidence=ev if key != "none" else full.evidence(d), table=table),
                word_starts,
                n,
            )
            res[f"pk {key}"] = pk(doc.boundaries, hyp, n, k)
            res[f"wd {key}"] = windowdiff(doc.boundaries, hyp, n, k)
        rows.append(res)
        exact = sum(a == b for a, b in titles) / len(titles) if titles else 0.0
        print(
            f"{path.stem:8} {len(gen):6d} {len(found):5d} {m / max(nf - 0, 1) if nf else 0:5.2f} {m / max(nt, 1):5.2f} "
            f"{exact:5.2f} {res['pk none']:6.3f} {res[f'pk {_key(SHIPPED)}']:6.3f} {det_seconds:6.1f} {doc.n_words * WORD_SECONDS:7.0f}",
            flush=True,
        )

    def mean(key: str, part: Sequence[dict] | None = None) -> float:
        return statistics.fmean(r[key] for r in (part if part is not None else rows))

    def raised(c: tuple[float, float], part: Sequence[dict]) -> int:
        return sum(r[f"pk {_key(c)}"] > r["pk none"] + 1e-9 for r in part)

    halves = (rows[0::2], rows[1::2])

    def cross_validate(grid: Sequence[tuple[float, float]]) -> tuple[float, float, int, list[str]]:
        """Pk, WD, lectures raised and choices, each half scored by the setting chosen on the other."""
        pks, wds, chosen, n_raised = [], [], [], 0
        for train, test in ((halves[0], halves[1]), (halves[1], halves[0])):
            # the target is "lower Pk, never raise it": fewest lectures raised on the half, then mean Pk
            c = min(grid, key=lambda g: (raised(g, train), mean(f"pk {_key(g)}", train)))
            chosen.append(_key(c))
            pks += [r[f"pk {_key(c)}"] for r in test]
            wds += [r[f"wd {_key(c)}"] for r in test]
            n_raised += raised(c, test)
        return statistics.fmean(pks), statistics.fmean(wds), n_raised, chosen

    matched = sum(r["m"] for r in rows)
    precision = matched / max(sum(r["nf"] for r in rows), 1)
    recall = matched / max(sum(r["nt"] for r in rows), 1)
    titles = [t for r in rows for t in r["titles"]]
    exact = sum(a == b for a, b in titles) / max(len(titles), 1)
    similar = (
        statistics.fmean(difflib.SequenceMatcher(None, a, b).ratio() for a, b in titles) if titles else 0.0
    )
    print()
    print(
        f"{len(rows)} lectures, slide changes {sum(r['nt'] for r in rows)} generated / {sum(r['nf'] for r in rows)} detected"
    )
    print(
        f"slide-change precision {precision:.3f} recall {recall:.3f} (within 2 s); titles exact {exact:.3f}, similarity {similar:.3f}"
    )
    print(f"{'evidence':40} {'Pk':>6} {'WD':>6} raised")
    print(f"{'without slides':40} {mean('pk none'):6.3f} {mean('wd none'):6.3f}")
    for c in GRID:
        mark = " (shipped)" if c == SHIPPED else ""
        names = [r["name"].split(".")[0] for r in rows if r[f"pk {_key(c)}"] > r["pk none"] + 1e-9]
        print(
            f"{_key(c) + mark:40} {mean(f'pk {_key(c)}'):6.3f} {mean(f'wd {_key(c)}'):6.3f} {raised(c, rows):3d}"
            f" {' '.join(names)}"
        )
    cv = (
        {"all": cross_validate(GRID), "section weight, no snap": cross_validate(NO_SNAP)}
        if len(rows) > 1
        else {}
    )
    for name, (cv_pk, cv_wd, cv_raised, chosen) in cv.items():
        print(f"{'cross-validated, ' + name:40} {cv_pk:6.3f} {cv_wd:6.3f} {cv_raised:3d}  (chosen {chosen})")
    print(f"{len(rows)} lectures; detection {mean('det'):.1f} s per lecture")
    print(
        json.dumps(
            {
                "precision": round(precision, 4),
                "recall": round(recall, 4),
                "title_exact": round(exact, 4),
                "pk_without": round(mean("pk none"), 4),
                "pk_with": round(mean(f"pk {_key(SHIPPED)}"), 4),
                "wd_without": round(mean("wd none"), 4),
                "wd_with": round(mean(f"wd {_key(SHIPPED)}"), 4),
                "pk_cv": round(cv["section weight, no snap"][0], 4) if cv else None,
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
