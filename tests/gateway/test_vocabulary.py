"""Course vocabulary, language and model of a session: upload, PATCH, re-transcription, and the worker's request."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from aiat_gateway.db.models import LectureSession, OutboxMessage, Status
from aiat_gateway.plans import PlanEntry
from aiat_gateway.schemas import MAX_VOCABULARY_TERMS
from aiat_gateway.worker.pipeline import SessionSnapshot, transcribe_request
from tests.gateway import seed
from tests.gateway.conftest import Gateway

API = "/api/v1"
TERMS = ["Schrödinger", "Hamiltonian", "eigenvalue"]


def upload(gw: Gateway, n: int, **fields: Any) -> Any:
    body = {"name": f"Lecture {n}", "drive_link": seed.LINK.format(seed.file_id(n)), **fields}
    return gw.client.post(f"{API}/upload-session", json=body)


def row(gw: Gateway, session_id: int) -> LectureSession:
    with gw.state.session_factory() as db:
        session = db.get(LectureSession, session_id)
        assert session is not None
        return session


def test_upload_stores_vocabulary_language_and_model(gateway: Gateway) -> None:
    r = upload(gateway, 1, vocabulary=[" Schrödinger ", "Hamiltonian", "eigen  value", "", "Hamiltonian"])
    assert r.status_code == 200, r.text
    body = r.json()
    # Blank terms dropped, spaces collapsed, duplicates removed, order kept.
    assert body["vocabulary"] == ["Schrödinger", "Hamiltonian", "eigen value"]
    assert body["requested_language"] is None and body["transcriber_model"] is None
    r = upload(gateway, 2, vocabulary=TERMS, language="de", model="multilingual")
    assert r.status_code == 200, r.text
    stored = row(gateway, r.json()["id"])
    assert (stored.vocabulary, stored.requested_language, stored.transcriber_model) == (
        TERMS,
        "de",
        "multilingual",
    )
    plain = upload(gateway, 3)
    assert plain.status_code == 200 and plain.json()["vocabulary"] is None


@pytest.mark.parametrize(
    "fields",
    [
        {"vocabulary": [f"term{i}" for i in range(MAX_VOCABULARY_TERMS + 1)]},
        {"vocabulary": ["x" * 101]},
        {"vocabulary": ["y" * 90 + str(i) for i in range(6)]},  # over 500 characters in all
        {"vocabulary": ["bad\x00term"]},
        {"vocabulary": "Hamiltonian"},
        {"language": "German"},
        {"language": "DE"},
        {"language": "xx"},  # the right shape, but no language the transcriber knows
        {"language": "eng"},
        {"model": "large-v3"},
    ],
)
def test_upload_refuses_unbounded_or_unknown_settings(gateway: Gateway, fields: dict[str, Any]) -> None:
    r = upload(gateway, 1, **fields)
    assert r.status_code == 422, r.text
    with gateway.state.session_factory() as db:
        assert db.scalar(select(LectureSession.id)) is None


def test_patch_changes_and_clears_settings(gateway: Gateway) -> None:
    sid = upload(gateway, 1, vocabulary=TERMS, language="es").json()["id"]
    r = gateway.client.patch(
        f"{API}/sessions/{sid}", json={"vocabulary": ["Noether"], "model": "multilingual"}
    )
    assert r.status_code == 200, r.text
    assert (r.json()["vocabulary"], r.json()["requested_language"], r.json()["transcriber_model"]) == (
        ["Noether"], "es", "multilingual",
    )  # fmt: skip
    r = gateway.client.patch(f"{API}/sessions/{sid}", json={"language": None, "vocabulary": []})
    assert r.status_code == 200
    stored = row(gateway, sid)
    assert (stored.vocabulary, stored.requested_language, stored.transcriber_model) == (
        None,
        None,
        "multilingual",
    )
    assert gateway.client.patch(f"{API}/sessions/{sid}", json={"name": "x"}).status_code == 422
    assert gateway.client.patch(f"{API}/sessions/{sid}", json={"language": "auto!"}).status_code == 422
    assert gateway.client.patch(f"{API}/sessions/{sid}", json={"language": "qq"}).status_code == 422
    assert (
        gateway.client.patch(f"{API}/sessions/{sid}", json={"language": "haw"}).json()["requested_language"]
        == "haw"
    )
    assert gateway.client.patch(f"{API}/sessions/999999", json={"language": "de"}).status_code == 404


def test_retranscribe_only_a_finished_session(gateway: Gateway) -> None:
    sid = upload(gateway, 1).json()["id"]
    r = gateway.client.post(f"{API}/sessions/{sid}/retranscribe", json={"keep_plan": True})
    assert r.status_code == 409 and "Finished" in r.json()["detail"]
    assert row(gateway, sid).job_status == Status.PENDING


@pytest.mark.parametrize("keep_plan", [True, False])
def test_retranscribe_queues_a_new_transcription(gateway: Gateway, keep_plan: bool) -> None:
    sid = upload(gateway, 1).json()["id"]
    seed.finish(gateway.state, sid, [PlanEntry("Intro", 1.0, 20.0)])
    before = row(gateway, sid)
    gateway.client.patch(f"{API}/sessions/{sid}", json={"vocabulary": TERMS})
    r = gateway.client.post(f"{API}/sessions/{sid}/retranscribe", json={"keep_plan": keep_plan})
    assert r.status_code == 200, r.text
    assert r.json()["job_status"] == Status.PENDING
    after = row(gateway, sid)
    assert after.job_id != before.job_id and after.transcript_path is None and after.keep_plan is keep_plan
    assert after.media_path == before.media_path  # the media is kept: no new download
    with gateway.state.session_factory() as db:
        msg_ids = set(db.scalars(select(OutboxMessage.msg_id)))
    assert (
        f"session-{after.job_id}" in msg_ids or not msg_ids
    )  # queued (published already, or still in the outbox)
    assert [s["name"] for s in gateway.client.get(f"{API}/sessions/{sid}/results").json()["snippets"]] == [
        "Intro"
    ]
    again = gateway.client.post(f"{API}/sessions/{sid}/retranscribe", json={})
    assert again.status_code == 409  # no second job while the first runs
    assert (
        gateway.client.post(f"{API}/sessions/{sid}/retranscribe", json={"keep_plan": "yes"}).status_code
        == 422
    )


def snapshot(**fields: Any) -> SessionSnapshot:
    base: dict[str, Any] = {
        "id": 1, "name": "L", "module": None, "drive_link": "x", "job_id": "j", "job_status": Status.TRANSCRIBING,
        "media_path": "sessions/1/source/lecture.mp4", "media_duration": 10.0, "transcript_path": None,
    }  # fmt: skip
    return SessionSnapshot(**{**base, **fields})


def test_worker_asks_the_transcriber_for_the_sessions_settings() -> None:
    plain = transcribe_request(snapshot())
    assert (plain.media_path, plain.language, plain.model, list(plain.vocabulary)) == (
        "sessions/1/source/lecture.mp4", "", "", [],
    )  # fmt: skip
    spanish = transcribe_request(snapshot(vocabulary=TERMS, requested_language="es"))
    assert (spanish.language, spanish.model, list(spanish.vocabulary)) == ("es", "", TERMS)
    auto = transcribe_request(snapshot(requested_language="auto"))
    assert (auto.language, auto.model) == ("", "multilingual")  # detection needs the multilingual model
    forced = transcribe_request(snapshot(requested_language="en", transcriber_model="default"))
    assert (forced.language, forced.model) == ("en", "default")
