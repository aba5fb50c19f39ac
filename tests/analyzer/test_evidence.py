"""Boundary evidence: cues, pauses, slide changes, meaning; each moves the DP's cut where it points."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from aiat.common.v1 import transcript_pb2
from aiat_analyzer.combine import (
    Evidence,
    EvidenceProposer,
    EvidenceWeights,
    section_scores,
    slide_scores,
)
from aiat_analyzer.evidence.meaning import SentenceEncoder, depth_scores, model_zip
from aiat_analyzer.evidence.speech import cue_scores, cue_strength, pause_scores
from aiat_analyzer.pipeline import AnalyzeOptions, SlideInfo, build_document
from aiat_analyzer.segmenter import decode, span_table
from aiat_analyzer.sentences import Sentence
from tests.analyzer.lectures import TOPICS, make_transcript


def _sentence(i: int, text: str, start: float, end: float) -> Sentence:
    return Sentence(index=i, text=text, start=start, end=end, first_word=i, n_words=1)


@pytest.mark.parametrize(
    ("text", "strength"),
    [
        ("OK , let 's now look at the pendulum.", 1.0),
        ("So let's move on to energy.", 1.0),
        ("The second thing is friction.", 1.0),
        ("Next, the spring.", 1.0),
        ("Now, there are many units.", 0.4),
        ("So the answer is two.", 0.4),
        ("Newton said so.", 0.0),
        ("Nowhere is it flat.", 0.0),
    ],
)
def test_discourse_cues_at_sentence_starts(text: str, strength: float) -> None:
    """Strong topic-shift openings score 1, weak ones 0.4, others (even a cue word inside a word) 0."""
    assert cue_strength(text) == strength


def test_pauses_count_beyond_the_usual_gap_and_equal_gaps_give_nothing() -> None:
    """A 3 s silence in speech with 0.2 s sentence gaps is a full pause; a steady rate has none."""
    starts = [0.0, 2.2, 4.4, 9.6, 11.8]
    sents = [_sentence(i, "x.", s, s + 2.0) for i, s in enumerate(starts)]
    scores = pause_scores(sents)
    assert scores[3] == 1.0 and scores[0] == 0.0 and max(scores[1], scores[2], scores[4]) < 1e-9
    steady = [_sentence(i, "x.", i * 3.0, i * 3.0 + 2.5) for i in range(5)]
    assert not pause_scores(steady).any()


def test_slide_changes_mark_the_nearest_sentence_start_by_how_new_the_slide_is() -> None:
    """A change 1 s before a sentence start marks it; a slide repeating the last one's words counts less;
    one far from every start marks nothing."""
    doc = build_document(make_transcript([s for topic in TOPICS for s in topic]))
    a, b = doc.sentences[12], doc.sentences[20]
    slides = [
        SlideInfo(0.0, "Photosynthesis", "leaves chlorophyll"),
        SlideInfo(a.start - 1.0, "Rockets", "orbit fuel"),
        SlideInfo(b.start, "Rockets", "orbit stages"),
        SlideInfo(doc.duration + 60, "Bread"),
    ]
    scores = slide_scores(doc, slides)
    assert scores[12] == pytest.approx(1 - 1 / 8)
    assert scores[20] == pytest.approx(1 / 3)
    assert np.count_nonzero(scores) == 2


def test_a_boundary_bonus_moves_the_cut_and_without_it_the_cut_stays() -> None:
    """Same words everywhere: the cut goes where the bonus is (the protection: remove the bonus, it moves)."""
    terms = [["alpha", "beta"]] * 20
    starts = [i * 10.0 for i in range(20)]
    ends = [s + 9.0 for s in starts]
    table = span_table(terms, starts, ends, 60.0, 200.0)
    bonus = np.zeros(20)
    bonus[7] = 5.0
    assert decode(table, 0.1, bonus) == [0, 7]
    assert decode(table, 0.1, None) != [0, 7]


def test_the_proposer_follows_a_cue_where_words_do_not_decide() -> None:
    """Same words throughout; 'OK, let's now turn to' opens sentence 6: with cues the cut is there."""
    body = "The ball rolls down the ramp and the ball speeds up on the ramp."
    sentences = [body] * 18
    sentences[6] = "OK, let's now turn to the ball on the ramp."
    doc = build_document(make_transcript(sentences))
    options = AnalyzeOptions(min_seconds=30, max_seconds=90, max_snippets=0)
    with_cue = EvidenceProposer(weights=EvidenceWeights(cue=3.0)).propose(doc, options)
    assert [c.first for c in with_cue] == [0, 6]
    without = EvidenceProposer(weights=EvidenceWeights()).propose(doc, options)
    assert [c.first for c in without] != [0, 6]


def test_slides_given_in_the_options_are_evidence() -> None:
    """The same cue-less document cuts where the slide changes when slides are weighted."""
    body = "The ball rolls down the ramp and the ball speeds up on the ramp."
    doc = build_document(make_transcript([body] * 18))
    slides = (SlideInfo(0.0, "Ramps"), SlideInfo(doc.sentences[6].start, "Friction"))
    options = AnalyzeOptions(min_seconds=30, max_seconds=120, max_snippets=0, slides=slides)
    cands = EvidenceProposer(weights=EvidenceWeights(slide=3.0)).propose(doc, options)
    assert [c.first for c in cands] == [0, 6]


def test_section_title_slides_mark_their_sentence_and_ordinary_slides_do_not() -> None:
    """A slide showing only its title (OCR'd text = the title) marks the sentence it opens; a slide with
    bullets, a blank slide and the first slide do not."""
    body = "The ball rolls down the ramp and the ball speeds up on the ramp."
    doc = build_document(make_transcript([body] * 18))
    at = [doc.sentences[i].start for i in (4, 9, 12, 15)]
    slides = (
        SlideInfo(0.0, "Ramps", "Ramps"),
        SlideInfo(at[0] - 1.0, "Friction", "Friction"),
        SlideInfo(at[1], "Friction forces", "Friction forces\n• the normal force pushes back"),
        SlideInfo(at[2], "", ""),
        SlideInfo(at[3], "Springs", "SPRINGS"),
    )
    scores = section_scores(doc, slides, brief=1e9)
    assert np.flatnonzero(scores).tolist() == [4, 15]
    assert section_scores(doc, ()).tolist() == [0.0] * 18


def test_a_title_only_slide_that_stays_is_not_a_section_slide() -> None:
    """A divider is shown while the part is announced; a title-only slide on screen for 30 s or more
    (a short bullet OCR missed, a figure) marks nothing."""
    body = "The ball rolls down the ramp and the ball speeds up on the ramp."
    doc = build_document(make_transcript([body] * 18))
    at = doc.sentences[4].start
    brief = (SlideInfo(0.0, "Ramps", "Ramps\n• slope"), SlideInfo(at, "Friction", "Friction"))
    stays = (*brief, SlideInfo(at + 29.0, "Friction", "Friction\n• normal force"))
    assert np.flatnonzero(section_scores(doc, stays)).tolist() == [4]
    stays = (*brief, SlideInfo(at + 30.0, "Friction", "Friction\n• normal force"))
    assert section_scores(doc, stays).tolist() == [0.0] * 18
    assert doc.duration - at > 30.0
    assert section_scores(doc, brief).tolist() == [0.0] * 18  # the last slide, on to the end


def test_a_section_slide_moves_the_cut_there_and_without_slides_nothing_changes() -> None:
    """Words do not decide; a section-title slide at sentence 6 puts the cut there when weighted, an
    ordinary slide change there does not; with no slides (audio, a talking head) the cuts are those of
    the proposer without slide weights."""
    body = "The ball rolls down the ramp and the ball speeds up on the ramp."
    doc = build_document(make_transcript([body] * 18))
    options = AnalyzeOptions(min_seconds=30, max_seconds=120, max_snippets=0)
    at = doc.sentences[6].start
    after = SlideInfo(at + 8.0, "Friction", "Friction\n• the normal force")
    section = (SlideInfo(0.0, "Ramps", "Ramps\n• slope"), SlideInfo(at, "Friction", "Friction"), after)
    ordinary = (section[0], SlideInfo(at, "Friction", "Friction\n• the normal force"), after)
    weighted = EvidenceProposer(weights=EvidenceWeights(slide_section=2.0))
    plain = [c.first for c in EvidenceProposer(weights=EvidenceWeights()).propose(doc, options)]
    assert plain != [0, 6]
    assert [c.first for c in weighted.propose(doc, replace(options, slides=section))] == [0, 6]
    assert [c.first for c in weighted.propose(doc, replace(options, slides=ordinary))] == plain
    assert [c.first for c in weighted.propose(doc, options)] == plain


def test_the_packaged_model_embeds_meaning() -> None:
    """all-MiniLM-L6-v2 from the wheel: paraphrases close, unrelated sentences far; unit vectors."""
    path = model_zip()
    assert path is not None
    enc = SentenceEncoder(path)
    v = enc.encode(
        ["The cat sits on the mat.", "A cat is sitting on a rug.", "Rockets burn fuel to reach orbit."]
    )
    assert v.shape == (3, 384) and np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-4)
    assert v[0] @ v[1] > 0.6 > 0.2 > v[0] @ v[2]


def test_meaning_shift_is_deepest_between_topics() -> None:
    """Depth scores from embeddings of the three-topic lecture peak at the two topic changes."""
    path = model_zip()
    assert path is not None
    texts = [s for topic in TOPICS for s in topic]
    depth = depth_scores(SentenceEncoder(path).encode(texts), window=4)
    starts = np.cumsum([0] + [len(t) for t in TOPICS])[1:-1]
    assert set(np.argsort(depth)[-2:]) == set(starts)


def test_evidence_bonus_sums_weighted_sources_and_never_at_the_start() -> None:
    """Weights multiply their own source; index 0 (the start of the lecture) is never a boundary."""
    ev = Evidence({"cue": np.array([1.0, 0.0, 1.0]), "slide": np.array([1.0, 1.0, 0.0])})
    assert ev.bonus(EvidenceWeights(cue=2.0, slide=0.5), 3).tolist() == [0.0, 0.5, 2.0]


def test_cues_score_per_sentence(lecture: transcript_pb2.Transcript) -> None:
    """The lecture's topic openings ('Now let us turn to', 'Finally') score; index 0 never does."""
    doc = build_document(lecture)
    scores = cue_scores(doc.sentences)
    opening = [i for i, s in enumerate(doc.sentences) if s.text.startswith(("Now let us", "Finally"))]
    assert scores[0] == 0.0 and all(scores[i] == 1.0 for i in opening)


def test_snapping_moves_a_cut_to_a_nearby_slide_change_and_adds_none(
    lecture: transcript_pb2.Transcript,
) -> None:
    """The words cut at the rocket topic; a slide changes one sentence earlier: the cut moves there.
    Slides far from every cut (or snapping off) change nothing, and no cut is added."""
    doc = build_document(lecture)
    options = AnalyzeOptions(min_seconds=20, max_seconds=90, max_snippets=0)
    plain = [c.first for c in EvidenceProposer(weights=EvidenceWeights()).propose(doc, options)]
    assert len(plain) == 3
    moved_to = plain[1] - 1
    slides = (
        SlideInfo(0.0, "A"),
        SlideInfo(doc.sentences[moved_to].start, "B"),
        SlideInfo(doc.sentences[3].start, "C"),
    )
    snapping = EvidenceProposer(weights=EvidenceWeights(slide_snap=30.0))
    got = [c.first for c in snapping.propose(doc, replace(options, slides=slides))]
    assert got == [0, moved_to, plain[2]]
    off = EvidenceProposer(weights=EvidenceWeights()).propose(doc, replace(options, slides=slides))
    assert [c.first for c in off] == plain


def test_the_reference_penalty_keeps_a_cut_off_a_sentence_that_points_back() -> None:
    """Where the words cut at a sentence opening 'It…', the penalty moves the cut to a clean start."""
    body = "The ball rolls down the ramp and the ball speeds up on the ramp."
    sentences = [body] * 18
    options = AnalyzeOptions(min_seconds=30, max_seconds=90, max_snippets=0)
    where = (
        EvidenceProposer(weights=EvidenceWeights())
        .propose(build_document(make_transcript(sentences)), options)[1]
        .first
    )
    sentences[where] = "It rolls down the ramp and the ball speeds up on the ramp."
    doc = build_document(make_transcript(sentences))
    assert EvidenceProposer(weights=EvidenceWeights()).propose(doc, options)[1].first == where
    penalised = EvidenceProposer(weights=EvidenceWeights(reference=0.5)).propose(doc, options)
    assert len(penalised) == 2 and penalised[1].first != where
