"""Extractive labels: keyword names, central-sentence summaries, scores from cohesion, length and focus."""

from __future__ import annotations

import pytest

from aiat_analyzer.naming import (
    Label,
    label_segments,
    length_fit,
    real_title,
    slide_name,
    slide_titles,
    surface_forms,
    trim_sentence,
)
from tests.analyzer.lectures import TOPICS


def test_each_topic_is_named_by_its_own_keywords() -> None:
    """Names come from the words that set a segment apart; every field is filled."""
    labels = label_segments(TOPICS, [50.0, 50.0, 50.0], 20.0, 90.0)
    assert [lb.name.split(",")[0].lower() for lb in labels] == ["photosynthesis", "rocket", "bread"]
    for lb, topic in zip(labels, TOPICS, strict=True):
        assert lb.summary in topic and 0 <= lb.score <= 1
        assert lb.reason.startswith("cohesion") and "0.8 min" in lb.reason
        assert lb.keep and not lb.same_topic  # the extractive labels never merge or drop


def test_focus_terms_raise_the_matching_segment() -> None:
    """With a focus, the segment holding its terms scores highest and says so."""
    labels = label_segments(TOPICS, [50.0, 50.0, 50.0], 20.0, 90.0, focus="rocket orbit")
    assert max(labels, key=lambda lb: lb.score) is labels[1]
    assert "focus terms present: orbit, rocket" in labels[1].reason
    assert labels[2].reason.endswith("no focus terms")


def test_length_fit_peaks_at_the_geometric_mean_of_the_range() -> None:
    """1 at sqrt(min*max), lower towards and beyond the ends of the range."""
    assert length_fit(60.0, 20.0, 180.0) == pytest.approx(1.0)
    assert length_fit(20.0, 20.0, 180.0) < 1.0 and length_fit(180.0, 20.0, 180.0) < 1.0
    assert length_fit(1000.0, 20.0, 180.0) < length_fit(180.0, 20.0, 180.0)


def test_trim_sentence_cuts_at_a_word_boundary() -> None:
    """Long sentences end in an ellipsis after a whole word; whitespace is normalised."""
    assert trim_sentence("  a   short one ") == "a short one"
    cut = trim_sentence("alpha beta gamma delta, epsilon", 20)
    assert cut == "alpha beta gamma…" and len(cut) <= 20


def test_surface_forms_pick_the_commonest_spelling_per_stem() -> None:
    """Keywords read as words, not stems."""
    forms = surface_forms(["Rockets fly.", "A rocket, two rockets, rockets!"])
    assert forms["rocket"] == "rockets"


def test_a_label_defaults_to_keep_and_no_merge() -> None:
    """The one Label type: the model's verdict fields default to 'keep, new topic'."""
    label = Label("Name", "Summary.", 0.5, "why")
    assert label.keep and not label.same_topic


def test_a_real_slide_title_is_kept_and_noise_or_a_generic_title_is_not() -> None:
    """OCR noise, bare numbers and titles such as 'Outline' or 'Questions?' name nothing."""
    assert real_title("  Newton's  2nd Law: ") == "Newton's 2nd Law"
    assert real_title("光合作用") == "光合作用"
    for noise in ("", "12", "| ~ — ||", "a b c d", "Outline", "Questions?", "x" * 90, "3.14 = 2 x 1.57"):
        assert real_title(noise) is None, noise


SLIDES = [(0.0, "Forces"), (10.0, "Forces"), (30.0, "Energy"), (40.0, "12"), (80.0, "Momentum")]


def test_slide_titles_rank_by_time_on_screen_within_the_span() -> None:
    """A build's slides count together; noise and slides outside the span are left out."""
    assert slide_titles(SLIDES, 5.0, 60.0) == [("Forces", 25.0), ("Energy", 10.0)]
    assert slide_name(SLIDES, 5.0, 60.0) == "Forces"
    assert slide_name(SLIDES, 50.0, 100.0) == "Momentum"  # 20 s of 50: the untitled slide does not count


def test_a_title_on_screen_for_less_than_a_quarter_names_nothing() -> None:
    """A slide shown only at the end of a segment is not what the segment teaches."""
    assert slide_name([(0.0, ""), (190.0, "Late topic")], 0.0, 200.0) is None
    assert slide_name([(0.0, ""), (140.0, "Late topic")], 0.0, 200.0) == "Late topic"
    assert slide_name([], 0.0, 200.0) is None
