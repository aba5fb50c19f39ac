"""A learned boundary scorer: per sentence gap, features from every kind of evidence, a logistic regression.

Features are language-neutral where they can be (word-overlap depth over the language's stems and
stop words at several window sizes, sentence lengths); the cue and reference features come
from English patterns and are simply 0 elsewhere. Each continuous feature is standardised within the
lecture, so the weights do not depend on a lecture's length, vocabulary or speaking rate.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources

import numpy as np
from numpy.typing import NDArray

from aiat_analyzer.evidence import speech
from aiat_analyzer.evidence.depth import depth
from aiat_analyzer.sentences import Sentence

Matrix = NDArray[np.float64]

LEXICAL_WINDOWS = (2, 4, 8, 16)
MEANING_WINDOWS = (2, 4, 8)
VOCAB_WINDOWS = (3, 6, 12)
SMOOTH_WINDOWS = (4, 8, 16)
# Optional feature groups; the benchmark's nested cross-validation decides which ones a fit uses.
EXTRA_GROUPS: dict[str, tuple[str, ...]] = {
    "vocab": tuple(f"vocab_new_{w}" for w in VOCAB_WINDOWS) + tuple(f"vocab_end_{w}" for w in VOCAB_WINDOWS),
    "smooth": tuple(f"smooth_depth_{w}" for w in SMOOTH_WINDOWS),
}
WEIGHTS_FILE = "boundary_scorer.json"


def window_similarity(cum: Matrix, window: int) -> NDArray[np.float64]:
    """Cosine of the summed rows of the `window` sentences before each gap and the `window` after it.

    `cum` holds cumulative per-sentence vectors (row 0 zeros, row i the sum of sentences < i).
    """
    n = cum.shape[0] - 1
    sims = np.ones(n, dtype=np.float64)
    if n < 2:
        return sims
    i = np.arange(1, n)
    left = cum[i] - cum[np.maximum(i - window, 0)]
    right = cum[np.minimum(i + window, n)] - cum[i]
    denom = np.linalg.norm(left, axis=1) * np.linalg.norm(right, axis=1)
    sims[1:] = np.where(denom > 0, (left * right).sum(1) / np.where(denom > 0, denom, 1.0), 0.0)
    return sims


def _cumulative(rows: Matrix) -> Matrix:
    return np.vstack([np.zeros((1, rows.shape[1])), np.cumsum(rows, axis=0)])


def _zscore(x: NDArray[np.float64]) -> NDArray[np.float64]:
    body = x[1:]
    if body.size < 2 or float(body.std()) < 1e-12:
        return np.zeros_like(x)
    out: NDArray[np.float64] = (x - body.mean()) / body.std()
    out[0] = 0.0
    return out


def feature_names(meaning: bool, extras: Sequence[str] = ()) -> list[str]:
    """The feature columns, in order; `extras`: names of EXTRA_GROUPS, appended in that order."""
    names = [f"lex_depth_{w}" for w in LEXICAL_WINDOWS] + [f"lex_sim_{w}" for w in LEXICAL_WINDOWS]
    if meaning:
        names += [f"mean_depth_{w}" for w in MEANING_WINDOWS] + [f"mean_sim_{w}" for w in MEANING_WINDOWS]
    names += ["cue_strong", "cue_weak", "reference", "len_after", "len_before"]
    for group in extras:
        names += EXTRA_GROUPS[group]
    return names


def _vocabulary_turnover(ids: Sequence[Sequence[int]], n_terms: int) -> list[NDArray[np.float64]]:
    """Per gap: share of the next w sentences' words first used there, of the last w's words never used again."""
    n = len(ids)
    first = np.full(n_terms, n)
    last = np.full(n_terms, -1)
    for s, row in enumerate(ids):
        for t in row:
            first[t] = min(first[t], s)
            last[t] = s
    news = np.array([sum(1 for t in row if first[t] == s) for s, row in enumerate(ids)], dtype=np.float64)
    ends = np.array([sum(1 for t in row if last[t] == s) for s, row in enumerate(ids)], dtype=np.float64)
    tokens = np.array([len(row) for row in ids], dtype=np.float64)
    cn, ce, ct = (np.concatenate([[0.0], np.cumsum(v)]) for v in (news, ends, tokens))
    i = np.arange(n)
    cols = []
    for w in VOCAB_WINDOWS:
        hi = np.minimum(i + w, n)
        cols.append(_zscore((cn[hi] - cn[i]) / np.maximum(ct[hi] - ct[i], 1.0)))
    for w in VOCAB_WINDOWS:
        lo = np.maximum(i - w, 0)
        cols.append(_zscore((ce[i] - ce[lo]) / np.maximum(ct[i] - ct[lo], 1.0)))
    return cols


def _smoothed_depths(cum: Matrix) -> list[NDArray[np.float64]]:
    """TextTiling depth of the word-overlap similarity after a 3-gap moving average, per window."""
    cols = []
    for w in SMOOTH_WINDOWS:
        sims = window_similarity(cum, w)
        if len(sims) > 1:
            sims[1:] = np.convolve(np.pad(sims[1:], 1, mode="edge"), np.ones(3) / 3, mode="valid")
        cols.append(_zscore(depth(sims)))
    return cols


def features(
    sentences: Sequence[Sentence],
    terms: Sequence[Sequence[str]],
    reference: NDArray[np.float64],
    vectors: NDArray[np.float32] | None = None,
    extras: Sequence[str] = (),
) -> Matrix:
    """One row per sentence (row i: the gap before sentence i; row 0 unused), columns as feature_names.

    `terms`: each sentence's content words in its language; `reference`: 1 where a sentence opens by
    pointing back (advise.reference_scores); `vectors`: unit sentence embeddings, if meaning is used.
    """
    n = len(sentences)
    vocab: dict[str, int] = {}
    ids = [[vocab.setdefault(t, len(vocab)) for t in ts] for ts in terms]
    counts = np.zeros((n, max(1, len(vocab))), dtype=np.float64)
    for s, row in enumerate(ids):
        np.add.at(counts[s], row, 1.0)
    cum = _cumulative(counts)
    cols: list[NDArray[np.float64]] = []
    lex_sims = [window_similarity(cum, w) for w in LEXICAL_WINDOWS]
    cols += [_zscore(depth(s)) for s in lex_sims] + [_zscore(-s) for s in lex_sims]
    if vectors is not None:
        vcum = _cumulative(vectors.astype(np.float64))
        mean_sims = [window_similarity(vcum, w) for w in MEANING_WINDOWS]
        cols += [_zscore(depth(s)) for s in mean_sims] + [_zscore(-s) for s in mean_sims]
    cue = np.array([speech.cue_strength(s.text) for s in sentences], dtype=np.float64)
    cols += [(cue >= 1.0).astype(np.float64), ((cue > 0) & (cue < 1.0)).astype(np.float64)]
    cols.append(np.asarray(reference, dtype=np.float64))
    lengths = np.log1p([len(s.text.split()) for s in sentences])
    cols.append(_zscore(lengths))
    cols.append(_zscore(np.concatenate([[0.0], lengths[:-1]])))
    for group in extras:
        cols += _vocabulary_turnover(ids, len(vocab)) if group == "vocab" else _smoothed_depths(cum)
    x = np.stack(cols, axis=1)
    x[0] = 0.0
    return x


def fit_logistic(x: Matrix, y: NDArray[np.float64], l2: float = 1.0, iterations: int = 50) -> Matrix:
    """Weights (bias first) of an L2-regularised logistic regression, by Newton's method, classes balanced."""
    xb = np.hstack([np.ones((len(x), 1)), x])
    pos = max(float(y.sum()), 1.0)
    sample = np.where(y > 0, len(y) / (2 * pos), len(y) / (2 * max(len(y) - pos, 1.0)))
    w = np.zeros(xb.shape[1])
    reg = np.full(xb.shape[1], l2)
    reg[0] = 0.0
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-(xb @ w)))
        grad = xb.T @ (sample * (p - y)) + reg * w
        hess = (xb * (sample * p * (1 - p))[:, None]).T @ xb + np.diag(reg + 1e-9)
        step = np.linalg.solve(hess, grad)
        w -= step
        if float(np.abs(step).max()) < 1e-8:
            break
    return w


def probabilities(x: Matrix, w: Matrix) -> NDArray[np.float64]:
    """P(boundary) of each gap (row 0 set to 0)."""
    p: NDArray[np.float64] = 1.0 / (1.0 + np.exp(-(w[0] + x @ w[1:])))
    p[0] = 0.0
    return p


def log_odds(p: NDArray[np.float64]) -> NDArray[np.float64]:
    """A quarter of the log-odds of each probability (index 0: 0): the DP bonus per unit of gain.

    Negative where a boundary is less likely than not, so an unlikely gap costs a cut instead of
    merely gaining nothing; a quarter keeps one unit of gain near one full-strength cue.
    """
    q = np.clip(p, 1e-6, 1 - 1e-6)
    out = np.log(q / (1 - q)) / 4
    if len(out):
        out[0] = 0.0
    return out


@dataclass(frozen=True)
class BoundaryScorer:
    """Fitted weights over named features; `gain` is the DP start bonus (per-segment costs per unit of p)."""

    names: tuple[str, ...]
    weights: tuple[float, ...]  # bias first
    gain: float
    cost_scale: float
    meaning: bool
    extras: tuple[str, ...] = ()

    def scores(
        self,
        sentences: Sequence[Sentence],
        terms: Sequence[Sequence[str]],
        reference: NDArray[np.float64],
        vectors: NDArray[np.float32] | None = None,
    ) -> NDArray[np.float64]:
        """P(boundary) before each sentence (index 0: 0); arguments as for features()."""
        if not sentences:
            return np.zeros(0)
        x = features(sentences, terms, reference, vectors if self.meaning else None, self.extras)
        return probabilities(x, np.asarray(self.weights))

    def to_json(self) -> str:
        """The scorer as the data file holds it."""
        return json.dumps(
            {
                "names": list(self.names),
                "weights": [round(v, 6) for v in self.weights],
                "gain": self.gain,
                "cost_scale": self.cost_scale,
                "meaning": self.meaning,
                "extras": list(self.extras),
            },
            indent=1,
        )

    @classmethod
    def from_json(cls, text: str) -> BoundaryScorer:
        """A scorer from its data file; ValueError when its features are not the ones computed here."""
        data = json.loads(text)
        scorer = cls(
            tuple(data["names"]),
            tuple(float(v) for v in data["weights"]),
            float(data["gain"]),
            float(data["cost_scale"]),
            bool(data["meaning"]),
            tuple(data.get("extras", ())),
        )
        if (
            not set(scorer.extras) <= set(EXTRA_GROUPS)
            or list(scorer.names) != feature_names(scorer.meaning, scorer.extras)
            or len(scorer.weights) != len(scorer.names) + 1
        ):
            raise ValueError("boundary scorer weights do not match the features computed")
        if not all(math.isfinite(v) for v in scorer.weights):
            raise ValueError("boundary scorer weights are not finite")
        return scorer


def shipped() -> BoundaryScorer:
    """The scorer fitted on all physics lectures, shipped in the package (docs/benchmarks.md)."""
    text = resources.files("aiat_analyzer").joinpath(WEIGHTS_FILE).read_text(encoding="utf-8")
    return BoundaryScorer.from_json(text)
