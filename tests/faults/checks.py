"""Assertions on what a job left behind: one source file, one transcript, one file per rendered snippet."""

from __future__ import annotations

import itertools
from pathlib import Path

from tests.faults.conftest import Faults


def names(directory: Path) -> list[str]:
    """Every entry of a directory, sorted (hidden and partial ones included)."""
    return sorted(p.name for p in directory.iterdir()) if directory.is_dir() else []


def session_attempts(faults: Faults, session_id: int) -> int:
    """The delivery number recorded on the session by its last step."""
    value = faults.stack.scalar("SELECT attempts FROM sessions WHERE id = :id", id=session_id)
    assert isinstance(value, int)
    return value


def assert_clean_session(faults: Faults, session_id: int) -> None:
    """Finished once: the media and transcript alone in the session's directory, no duplicate snippet."""
    client = faults.client
    results = client.get(f"/api/v1/sessions/{session_id}/results").json()
    session_dir = faults.stack.media / "sessions" / str(session_id)
    assert names(session_dir) == ["source", "transcript.json"], names(session_dir)
    sources = names(session_dir / "source")
    assert len(sources) == 1 and sources[0].endswith(".mp4") and not sources[0].startswith("."), sources
    snippets = results["snippets"]
    assert snippets, results
    rows = faults.stack.scalar("SELECT count(*) FROM snippets WHERE session_id = :id", id=session_id)
    assert rows == len(snippets)
    spans = [(s["start"], s["end"]) for s in snippets]
    assert len(set(spans)) == len(spans), spans
    assert spans == sorted(spans) and all(a[1] <= b[0] + 1e-6 for a, b in itertools.pairwise(spans)), spans


def assert_clean_output(faults: Faults, session_id: int) -> None:
    """The session's output directory holds each rendered snippet's mp4 and srt, nothing else."""
    rendered = [
        s["storage_link"]
        for s in faults.client.get(f"/api/v1/sessions/{session_id}/results").json()["snippets"]
        if s.get("storage_link")
    ]
    expected = sorted([*rendered, *(str(Path(r).with_suffix(".srt")) for r in rendered)])
    output = faults.stack.media / "output" / str(session_id) / "snippets"
    assert names(output) == expected, names(output)


def job_published(faults: Faults, session_id: int) -> bool:
    """True once the session's current job went out to JetStream (its outbox row is marked)."""
    published = faults.stack.scalar(
        "SELECT o.published_at FROM outbox o JOIN sessions s ON o.msg_id = 'session-' || s.job_id "
        "WHERE s.id = :id",
        id=session_id,
    )
    return published is not None
