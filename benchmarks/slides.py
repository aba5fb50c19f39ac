"""Slides as boundary evidence: generated slide lectures from the physics transcripts.

Usage: python -m benchmarks.slides DIR [--limit N] [--out DIR] [--seed S]

Each lecture of DIR (bayes-seg `.ref`/`.dev`) becomes a video a lecturer could have made: every gold
topic gets several slides (one per ~60-150 s of speech), a section-title slide only sometimes, bullets
that build in one at a time, a speaker inset moving in a corner, camera noise, and slide changes a few
seconds off the spoken boundary. Words are timed as in benchmarks.segmentation (150 words/min). The
detector runs on the video; the figures are slide-change precision/recall (within 2 s), title OCR
accuracy, and Pk/WD of the evidence proposer with and without the detected slides (slide weight
cross-validated over two halves of the lectures).
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

from aiat_analyzer.combine import DEFAULT_COST_SCALE, DEFAULT_WEIGHTS, EvidenceProposer
from aiat_analyzer.pipeline import AnalyzeOptions, build_document
from aiat_analyzer.segmenter import STOPWORDS, SegmenterParams
from aiat_analyzer.slides import SlideParams, detect_slides
from benchmarks.segmentation import GoldDoc, build_transcript, pk, read_ref, windowdiff

W, H, FPS = 960, 540, 1
SNAPS = (0.0, 15.0, 30.0, 45.0, 90.0)  # seconds a cut may move to a slide change (0 = slides unused)
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


def main(argv: Sequence[str] | None = None) -> int:
    """Generate, detect, score; print a table and a JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path)
    parser.add_argument("--limit", type=int, default=8, help="lectures to generate (0 = all)")
    parser.add_argument("--out", type=Path, default=Path("/tmp/aiat-bench-slides"))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--min-seconds", type=float, default=120.0)
    parser.add_argument("--max-seconds", type=float, default=1200.0)
    args = parser.parse_args(argv)
    paths = sorted([*args.data.glob("*.ref"), *args.data.glob("*.dev")])
    if args.limit:
        paths = paths[:: max(1, len(paths) // args.limit)][: args.limit]
    if not paths:
        print(f"no .ref or .dev files in {args.data}", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    options = AnalyzeOptions(min_seconds=args.min_seconds, max_seconds=args.max_seconds, max_snippets=0)
    base = SegmenterParams()
    params = replace(base, segment_cost=base.segment_cost * DEFAULT_COST_SCALE)
    proposer = EvidenceProposer(params=params, weights=replace(DEFAULT_WEIGHTS, slide=1.0, slide_snap=45.0))
    rows = []
    print(
        f"{'doc':8} {'slides':>6} {'found':>5} {'P':>5} {'R':>5} {'title':>5} {'Pk-':>6} {'Pk+':>6} {'det s':>6} {'video s':>7}"
    )
    for path in paths:
        rng = random.Random(f"{args.seed}-{path.name}")
        doc = read_ref(path)
        gen = plan_slides(doc, rng)
        video = args.out / f"{path.stem}-{args.seed}.mp4"
        if not video.exists():  # rendered once per seed; a run stopped mid-render leaves only the .part
            part = video.with_suffix(".part.mp4")
            render(doc, gen, part, rng)
            part.rename(video)
        began = time.perf_counter()
        found = detect_slides(video, SlideParams())
        det_seconds = time.perf_counter() - began
        m, nt, nf = change_pr([s.start for s in gen[1:]], [s.start for s in found[1:]])
        titles = []
        for g in gen:
            near = min(found, key=lambda s: abs(s.start - g.start))
            if abs(near.start - g.start) <= 2.0:
                titles.append((_norm(g.title), _norm(near.title)))
        transcript, word_starts = build_transcript(doc, 150.0)
        d = build_document(transcript)
        ev = proposer.evidence(d, found)
        n, k = doc.n_words, doc.k
        res = {"name": path.name, "m": m, "nt": nt, "nf": nf, "titles": titles, "det": det_seconds}
        for slide_w in SNAPS:
            prop = EvidenceProposer(
                params=params, weights=replace(DEFAULT_WEIGHTS, slide=0.0, slide_snap=slide_w)
            )
            hyp = boundaries_of(prop.propose(d, options, evidence=ev), word_starts, n)
            res[f"pk{slide_w:g}"] = pk(doc.boundaries, hyp, n, k)
            res[f"wd{slide_w:g}"] = windowdiff(doc.boundaries, hyp, n, k)
        rows.append(res)
        exact = sum(a == b for a, b in titles) / len(titles) if titles else 0.0
        print(
            f"{path.stem:8} {len(gen):6d} {len(found):5d} {m / max(nf - 0, 1) if nf else 0:5.2f} {m / max(nt, 1):5.2f} "
            f"{exact:5.2f} {res['pk0']:6.3f} {res['pk45']:6.3f} {det_seconds:6.1f} {doc.n_words * WORD_SECONDS:7.0f}",
            flush=True,
        )

    def mean(key: str, part: Sequence[dict] | None = None) -> float:
        return statistics.fmean(r[key] for r in (part if part is not None else rows))

    halves = (rows[0::2], rows[1::2])
    cv_pk, cv_wd, chosen = [], [], []
    for train, test in ((halves[0], halves[1]), (halves[1], halves[0])):
        if not train or not test:
            continue
        w = min(SNAPS, key=lambda x: mean(f"pk{x:g}", train))
        chosen.append(w)
        cv_pk += [r[f"pk{w:g}"] for r in test]
        cv_wd += [r[f"wd{w:g}"] for r in test]
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
    print(f"{'evidence':40} {'Pk':>6} {'WD':>6}")
    print(f"{'without slides':40} {mean('pk0'):6.3f} {mean('wd0'):6.3f}")
    for w in SNAPS[1:]:
        print(
            f"{'with slides, snap within ' + format(w, 'g') + ' s':40} {mean(f'pk{w:g}'):6.3f} {mean(f'wd{w:g}'):6.3f}"
        )
    if cv_pk:
        print(
            f"{'with slides, snap cross-validated':40} {statistics.fmean(cv_pk):6.3f} {statistics.fmean(cv_wd):6.3f}  (chosen {chosen})"
        )
    worse = sum(r["pk45"] > r["pk0"] + 1e-9 for r in rows)
    print(
        f"lectures where slides (snap 45 s) raise Pk: {worse} of {len(rows)}; detection {mean('det'):.1f} s per lecture"
    )
    print(
        json.dumps(
            {
                "precision": round(precision, 4),
                "recall": round(recall, 4),
                "title_exact": round(exact, 4),
                "pk_without": round(mean("pk0"), 4),
                "pk_with": round(mean("pk45"), 4),
                "wd_without": round(mean("wd0"), 4),
                "wd_with": round(mean("wd45"), 4),
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
