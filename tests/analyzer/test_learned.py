"""The learned boundary scorer: its features, its fit, the shipped weights and how the engines use them."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from aiat_analyzer import advise
from aiat_analyzer.combine import EvidenceProposer
from aiat_analyzer.evidence import learned
from aiat_analyzer.factory import build_engine
from aiat_analyzer.languages import lexicon
from aiat_analyzer.pipeline import AnalyzeOptions, build_document
from aiat_analyzer.settings import AnalyzerSettings
from tests.analyzer.lectures import TOPICS, make_transcript


def _scores(scorer: learned.BoundaryScorer, sentences: list[str], language: str = "en") -> np.ndarray:
    transcript = make_transcript(sentences)
    transcript.language = language
    doc = build_document(transcript)
    terms = lexicon(language).terms
    sents = doc.sentences
    return scorer.scores(sents, [terms(s.text) for s in sents], advise.reference_scores(sents))


def test_the_shipped_scorer_matches_the_features_and_ranks_topic_changes_first() -> None:
    """Fitted on the physics lectures, it puts the two topic changes of the three-topic lecture on top."""
    scorer = learned.shipped()
    assert list(scorer.names) == learned.feature_names(scorer.meaning, scorer.extras)
    assert scorer.gain > 0 and scorer.cost_scale > 0
    p = _scores(scorer, [s for topic in TOPICS for s in topic])
    assert set(np.argsort(p)[-2:]) == {10, 20}


def test_word_overlap_alone_finds_a_change_in_another_language() -> None:
    """Russian, no English cue: the proposer compares the transcript's own stems and sees the change."""
    first = ["Растение использует свет и воду для фотосинтеза в зелёном листе."] * 8
    second = ["Большая ракета сжигает топливо и выходит на орбиту вокруг Земли."] * 8
    transcript = make_transcript(first + second)
    transcript.language = "ru"
    proposer = build_engine(AnalyzerSettings(engine="lexical")).proposer
    assert isinstance(proposer, EvidenceProposer)
    bonus = proposer.evidence(build_document(transcript)).sources["learned"]
    assert int(np.argmax(bonus)) == 8
    assert np.all(np.isfinite(bonus))


def test_weights_that_do_not_match_the_features_are_refused() -> None:
    """A data file from another feature set must not be applied column by column to these features."""
    scorer = learned.shipped()
    with pytest.raises(ValueError, match="do not match"):
        learned.BoundaryScorer.from_json(replace(scorer, names=scorer.names[1:]).to_json())
    with pytest.raises(ValueError, match="do not match"):
        learned.BoundaryScorer.from_json(replace(scorer, weights=scorer.weights[1:]).to_json())
    assert learned.BoundaryScorer.from_json(scorer.to_json()) == scorer


def test_the_logistic_fit_learns_which_feature_marks_a_boundary() -> None:
    """Column 0 decides the label, column 1 is noise: the fit weighs 0 and ranks the positives first."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 2))
    y = (x[:, 0] > 1.2).astype(np.float64)
    w = learned.fit_logistic(x, y)
    assert w[1] > 2 * abs(w[2])
    p = learned.probabilities(np.vstack([[0.0, 0.0], x]), w)[1:]
    assert p[y == 1].min() > np.median(p[y == 0])


def test_the_engines_use_the_scorer_by_default_and_the_setting_turns_it_off() -> None:
    """On: the scorer's log-odds replace the cue and reference weights; off: those weights, no scorer."""
    on = build_engine(AnalyzerSettings(engine="lexical")).proposer
    assert isinstance(on, EvidenceProposer) and on.scorer is not None
    assert on.weights.learned > 0 and on.weights.cue == 0 and on.weights.reference == 0
    off = build_engine(AnalyzerSettings(engine="lexical", boundary_scorer=False)).proposer
    assert isinstance(off, EvidenceProposer) and off.scorer is None
    assert off.weights.learned == 0 and off.weights.cue > 0


def test_the_scorer_moves_a_cut_to_where_a_new_topic_opens() -> None:
    """Same words and lengths throughout: with the scorer on, the cut lands at the cue; off, it does not."""
    body = "You see, the ball rolls down the ramp and the ball speeds up on the ramp too."
    sentences = [body] * 18
    sentences[6] = "OK, let's look: the ball rolls down the ramp and the ball speeds up on the ramp."
    doc = build_document(make_transcript(sentences))
    options = AnalyzeOptions(min_seconds=30, max_seconds=90, max_snippets=0)
    on = build_engine(AnalyzerSettings(engine="lexical", cue_weight=0)).proposer
    assert [c.first for c in on.propose(doc, options)] == [0, 6]
    off = build_engine(AnalyzerSettings(engine="lexical", cue_weight=0, boundary_scorer=False)).proposer
    assert [c.first for c in off.propose(doc, options)] != [0, 6]


def test_vocabulary_turnover_peaks_where_the_words_change() -> None:
    """The share of words used for the first time just after a gap is highest at the change of topic."""
    sentences = TOPICS[0][:8] + TOPICS[1][:8]
    doc = build_document(make_transcript(sentences))
    terms = lexicon("en").terms
    sents = doc.sentences
    x = learned.features(
        sents, [terms(s.text) for s in sents], advise.reference_scores(sents), extras=("vocab",)
    )
    names = learned.feature_names(False, ("vocab",))
    for name in ("vocab_new_3", "vocab_new_6", "vocab_new_12"):
        # the last gaps see only a sentence or two after them, so they are left out
        assert int(np.argmax(x[:13, names.index(name)])) == 8, name


def test_a_weights_file_names_its_feature_groups() -> None:
    """Extra groups are computed when named, an unknown group is refused, a file without groups loads."""
    scorer = learned.shipped()
    names = tuple(learned.feature_names(scorer.meaning, ("smooth",)))
    smooth = replace(scorer, names=names, weights=(0.0,) * (len(names) + 1), extras=("smooth",))
    assert learned.BoundaryScorer.from_json(smooth.to_json()) == smooth
    assert len(_scores(smooth, [s for topic in TOPICS for s in topic])) == 30
    with pytest.raises(ValueError, match="do not match"):
        learned.BoundaryScorer.from_json(replace(smooth, extras=("smooth", "nope")).to_json())
    base = replace(scorer, names=tuple(learned.feature_names(False)), extras=())
    base = replace(base, weights=(0.0,) * (len(base.names) + 1))
    data = json.loads(base.to_json())
    del data["extras"]
    assert learned.BoundaryScorer.from_json(json.dumps(data)).extras == ()
