"""The segmentation benchmark's nested cross-validation of the learned scorer: no choice sees the half it is scored on."""

from __future__ import annotations

from pathlib import Path

from aiat_analyzer.combine import EvidenceProposer, EvidenceWeights
from aiat_analyzer.pipeline import AnalyzeOptions, build_document
from benchmarks.segmentation import (
    Prepared,
    build_transcript,
    nested_cv_scorer,
    read_ref,
    scorer_data,
)
from tests.analyzer.lectures import TOPICS

OPTIONS = AnalyzeOptions(min_seconds=20, max_seconds=400, max_snippets=0)


def _lecture(tmp_path: Path, n: int, segments: list[list[str]]) -> Prepared:
    path = tmp_path / f"L{n}.ref"
    path.write_text(
        "".join("==========\n" + "".join(f"{s}\n" for s in seg) for seg in segments) + "==========\n"
    )
    gold = read_ref(path)
    transcript, starts = build_transcript(gold, 150.0)
    doc = build_document(transcript)
    proposer = EvidenceProposer(weights=EvidenceWeights(cue=1.0))
    return Prepared(gold, doc, starts, proposer.evidence(doc), proposer.table(doc, OPTIONS))


def _lectures(tmp_path: Path, scrambled: bool) -> list[Prepared]:
    """Six three-topic lectures; `scrambled`: the odd ones' gold says one topic throughout."""
    out = []
    for n in range(6):
        topics = [TOPICS[(n + k) % 3][n % 4 :] + TOPICS[(n + k) % 3][: n % 4] for k in range(3)]
        if scrambled and n % 2 == 1:
            topics = [[s for t in topics for s in t]]
        out.append(_lecture(tmp_path, n, topics))
    return out


def test_the_choices_of_one_fold_depend_only_on_its_tuning_half(tmp_path: Path) -> None:
    """Rewriting the gold of the half a fold is scored on changes that fold's figure, never its choices."""
    clean = _lectures(tmp_path, scrambled=False)
    changed = _lectures(tmp_path, scrambled=True)
    a = nested_cv_scorer(clean, [scorer_data(d, meaning=False) for d in clean], OPTIONS)
    b = nested_cv_scorer(changed, [scorer_data(d, meaning=False) for d in changed], OPTIONS)
    # Fold 1 tunes on lectures 0, 2, 4 and is scored on 1, 3, 5; fold 2 the other way round.
    assert str(a["chosen"]).split(" | ")[0] == str(b["chosen"]).split(" | ")[0]
    assert a["pk"] != b["pk"]
