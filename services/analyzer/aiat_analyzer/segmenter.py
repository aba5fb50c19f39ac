"""Lexical-cohesion segmentation: an exact dynamic programme over sentence spans.

Each candidate segment is scored by the Dirichlet-compound-multinomial likelihood of its content
words (the lexical-cohesion model of BayesSeg, Eisenstein & Barzilay 2008: a span whose words
repeat each other scores high) plus a log-normal prior on its duration, centred on the geometric
mean of the allowed range, minus a cost per segment scaled to the words a typical segment holds.
The number of segments is not given; the programme finds the best segmentation whose spans all lie in [min_seconds, max_seconds].
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

_TOKEN = re.compile(r"[a-z][a-z']+")

# Function words and spoken fillers; content words carry the topic signal.
STOPWORDS = frozenset(
    """
    a about above across after again against all almost alone along already also although always am
    among an and another any anybody anyone anything anyway anywhere are aren't around as at back be
    became because become been before being below beside besides between beyond both but by can
    can't cannot could couldn't did didn't do does doesn't doing don't done down during each either
    else enough etc even ever every everybody everyone everything few for from further get gets
    getting give given go goes going gone got had hadn't has hasn't have haven't having he he'd
    he'll he's her here here's hers herself him himself his how however i i'd i'll i'm i've if in
    indeed instead into is isn't it it's its itself just kind know let let's like likely lot lots
    made make makes many may maybe me mean might mine more most mostly much must my myself need
    needs never no nobody none nor not nothing now of off often oh ok okay on once one ones only
    onto or other others otherwise ought our ours ourselves out over own perhaps put quite rather re
    really right said same say says see seen shall she she'd she'll she's should shouldn't since so
    some somebody someone something sometimes somewhat still such sure take than that that's the
    their theirs them themselves then there there's therefore these they they'd they'll they're
    they've thing things think this those though through thus to today together too toward towards
    uh um under until up upon us very via want wanted wants was wasn't way we we'd we'll we're we've
    well went were weren't what what's whatever when where where's whether which while who who's
    whom whose why will with within without won't would wouldn't yeah yes yet you you'd you'll
    you're you've your yours yourself yourselves actually again alright basically called come comes
    coming look looking looks gonna wanna gotta yep tell told thank thanks talk talking saying sort
    something's doesn try trying use used using way ways
    """.split()
)


def stem(word: str) -> str:
    """A light suffix-stripping stemmer (plurals, -ing, -ed, -ly) good enough for word overlap."""
    if word.endswith("'s"):
        word = word[:-2]
    for suffix, repl, min_len in (
        ("sses", "ss", 5),
        ("ies", "y", 5),
        ("ing", "", 6),
        ("edly", "", 7),
        ("ed", "", 5),
        ("ly", "", 6),
        ("es", "", 6),
        ("s", "", 4),
    ):
        if word.endswith(suffix) and len(word) >= min_len and not word.endswith("ss"):
            return word[: len(word) - len(suffix)] + repl
    return word


def content_terms(text: str) -> list[str]:
    """Stemmed content words of a text (lower-cased, stopwords and one-letter tokens dropped)."""
    return [stem(t) for t in _TOKEN.findall(text.lower()) if t not in STOPWORDS]


@dataclass(frozen=True)
class SegmenterParams:
    """Tuned on the physics lecture set (docs/benchmarks.md, Analyzer)."""

    concentration: float = 0.3  # symmetric Dirichlet prior per vocabulary word
    # Log-score paid per segment, per content word a segment of typical length holds: scale-free,
    # so short clips and long lectures split alike for the same length range.
    segment_cost: float = 0.13
    length_weight: float = 1.0  # weight of the log-normal duration prior
    length_sigma: float = 0.6  # its spread in log-seconds


@dataclass(frozen=True)
class SpanTable:
    """Every allowed span's score without the per-segment cost: what each decode() re-uses."""

    cands: list[np.ndarray]  # cands[j-1]: the sentences a segment ending at sentence j-1 may start at
    scores: list[np.ndarray]  # their likelihood + duration prior (forced spans already penalised)
    cost: float  # the per-segment cost at segment_cost = 1
    sentences_per_segment: float  # sentences a segment of typical duration holds


def span_table(
    sentence_terms: Sequence[Sequence[str]],
    starts: Sequence[float],
    ends: Sequence[float],
    min_seconds: float,
    max_seconds: float,
    params: SegmenterParams | None = None,
) -> SpanTable:
    """The scores of every span in [min_seconds, max_seconds] (the expensive half of the programme)."""
    p = params or SegmenterParams()
    n_sent = len(sentence_terms)
    vocab: dict[str, int] = {}
    ids = [[vocab.setdefault(t, len(vocab)) for t in terms] for terms in sentence_terms]
    n_vocab = max(1, len(vocab))
    cum = np.zeros((n_sent + 1, n_vocab), dtype=np.int32)
    for s, row in enumerate(ids):
        cum[s + 1] = cum[s]
        np.add.at(cum[s + 1], row, 1)
    total = int(cum[-1].sum())
    theta = p.concentration
    word_table = np.array([math.lgamma(n + theta) - math.lgamma(theta) for n in range(total + 1)])
    alpha = n_vocab * theta
    norm_table = np.array([math.lgamma(alpha) - math.lgamma(n + alpha) for n in range(total + 1)])
    centre = math.log(math.sqrt(max(min_seconds, 1.0) * max(max_seconds, 1.0)))
    span = max(ends[-1] - starts[0], 1e-3) if n_sent else 1.0
    start_arr = np.asarray(starts, dtype=float)
    all_cands: list[np.ndarray] = []
    all_scores: list[np.ndarray] = []
    for j in range(1, n_sent + 1):
        end = ends[j - 1]
        lo = int(np.searchsorted(start_arr, end - max_seconds, side="left"))
        hi = int(np.searchsorted(start_arr, end - min_seconds, side="right"))
        cands = np.arange(lo, min(hi, j))
        forced = cands.size == 0
        if forced:
            # No span in range ends here: allow the shortest one, heavily penalised.
            cands = np.array([j - 1])
        counts = cum[j] - cum[cands]
        loglik = word_table[counts].sum(axis=1) + norm_table[counts.sum(axis=1)]
        dur = np.maximum(end - start_arr[cands], 1e-3)
        prior = -p.length_weight * (np.log(dur) - centre) ** 2 / (2 * p.length_sigma**2)
        all_cands.append(cands)
        all_scores.append(loglik + prior - (1e6 if forced else 0.0))
    return SpanTable(all_cands, all_scores, total / span * math.exp(centre), n_sent / span * math.exp(centre))


def decode(
    table: SpanTable,
    segment_cost: float,
    boundary_bonus: Sequence[float] | np.ndarray | None = None,
    span_bonus: Sequence[np.ndarray] | None = None,
) -> list[int]:
    """The best segmentation given the span scores, a per-segment cost and per-sentence start bonuses.

    `span_bonus[j-1]` (in per-segment costs, aligned with `table.cands[j-1]`) adds to each span's score.
    """
    n_sent = len(table.cands)
    if n_sent == 0:
        return []
    cost = segment_cost * table.cost
    bonus = np.zeros(n_sent + 1)
    if boundary_bonus is not None:
        bonus[:n_sent] = np.asarray(boundary_bonus, dtype=float) * cost
    bonus[0] = 0.0
    best = np.full(n_sent + 1, -np.inf)
    best[0] = 0.0
    back = np.zeros(n_sent + 1, dtype=np.int64)
    for j in range(1, n_sent + 1):
        cands = table.cands[j - 1]
        score = best[cands] + bonus[cands] + table.scores[j - 1] - cost
        if span_bonus is not None:
            score = score + span_bonus[j - 1] * cost
        k = int(np.argmax(score))
        best[j] = score[k]
        back[j] = cands[k]
    cuts: list[int] = []
    j = n_sent
    while j > 0:
        j = int(back[j])
        cuts.append(j)
    return sorted(cuts)


def segment(
    sentence_terms: Sequence[Sequence[str]],
    starts: Sequence[float],
    ends: Sequence[float],
    min_seconds: float,
    max_seconds: float,
    params: SegmenterParams | None = None,
    boundary_bonus: Sequence[float] | None = None,
) -> list[int]:
    """Indices of the sentences that start a segment (always including 0).

    `boundary_bonus[i]`, in per-segment costs, is added when a segment starts at sentence i > 0.
    """
    p = params or SegmenterParams()
    if not sentence_terms:
        return []
    table = span_table(sentence_terms, starts, ends, min_seconds, max_seconds, p)
    return decode(table, p.segment_cost, boundary_bonus)
