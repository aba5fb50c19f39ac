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
from aiat_analyzer.sentences import Sentence

Matrix = NDArray[np.float64]

LEXICAL_WINDOWS = (2, 4, 8, 16)
MEANING_WINDOWS = (2, 4, 8)
WEIGHTS_FILE = "boundary_scorer.json"


def _depth(sims: NDArray[np.float64]) -> NDArray[np.float64]:
    """TextTiling depth of each gap's similarity below the nearest peaks on both sides (index 0 unused)."""
    n = len(sims)
    depth = np.zeros(n, dtype=np.float64)
    for i in range(1, n):
        lpeak = sims[i]
        j = i - 1
        while j >= 1 and sims[j] >= lpeak:
            lpeak = sims[j]
            j -= 1
        rpeak = sims[i]
        j = i + 1
        while j < n and sims[j] >= rpeak:
            rpeak = sims[j]
            j += 1
        depth[i] = (lpeak - sims[i]) + (rpeak - sims[i])
    return depth


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


def feature_names(meaning: bool) -> list[str]:
    """The feature columns, in order."""
    names = [f"lex_depth_{w}" for w in LEXICAL_WINDOWS] + [f"lex_sim_{w}" for w in LEXICAL_WINDOWS]
    if meaning:
        names += [f"mean_depth_{w}" for w in MEANING_WINDOWS] + [f"mean_sim_{w}" for w in MEANING_WINDOWS]
    names += ["cue_strong", "cue_weak", "reference", "len_after", "len_before"]
    return names


def features(
    sentences: Sequence[Sentence],
    terms: Sequence[Sequence[str]],
    reference: NDArray[np.float64],
    vectors: NDArray[np.float32] | None = None,
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
    cols += [_zscore(_depth(s)) for s in lex_sims] + [_zscore(-s) for s in lex_sims]
    if vectors is not None:
        vcum = _cumulative(vectors.astype(np.float64))
        mean_sims = [window_similarity(vcum, w) for w in MEANING_WINDOWS]
        cols += [_zscore(_depth(s)) for s in mean_sims] + [_zscore(-s) for s in mean_sims]
    cue = np.array([speech.cue_strength(s.text) for s in sentences], dtype=np.float64)
    cols += [(cue >= 1.0).astype(np.float64), ((cue > 0) & (cue < 1.0)).astype(np.float64)]
    cols.append(np.asarray(reference, dtype=np.float64))
    lengths = np.log1p([len(s.text.split()) for s in sentences])
    cols.append(_zscore(lengths))
    cols.append(_zscore(np.concatenate([[0.0], lengths[:-1]])))
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
        x = features(sentences, terms, reference, vectors if self.meaning else None)
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
        )
        if (
            list(scorer.names) != feature_names(scorer.meaning)
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
