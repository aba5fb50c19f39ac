"""The plan version: bumped by every plan write; PATCH /plan with a stale base_version is a 409 (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
import time
from typing import Any

from sqlalchemy import event

from aiat_gateway import lifecycle
from aiat_gateway.db.models import LectureSession
from aiat_gateway.plans import PlanEntry
from tests.gateway.conftest import Gateway
from tests.gateway.test_contract import finished_session, upload


def plan(name: str, base_version: int | None = None) -> dict[str, object]:
    body: dict[str, object] = {"snippets": [{"name": name, "start": 1.0, "end": 5.0, "summary": "s"}]}
    if base_version is not None:
        body["base_version"] = base_version
    return body


def test_patch_with_the_current_version_saves_and_a_stale_one_is_409_keeping_the_plan(
    gateway: Gateway,
) -> None:
    sid = finished_session(gateway)["id"]
    results = gateway.client.get(f"/api/v1/sessions/{sid}/results").json()
    v0 = results["plan_version"]
    assert gateway.client.get("/api/v1/sessions").json()[0]["plan_version"] == v0

    saved = gateway.client.patch(f"/api/v1/sessions/{sid}/plan", json=plan("Mine", v0))
    assert saved.status_code == 200, saved.text
    assert saved.json()["plan_version"] == v0 + 1

    stale = gateway.client.patch(f"/api/v1/sessions/{sid}/plan", json=plan("Theirs", v0))
    assert stale.status_code == 409
    detail = stale.json()["detail"]
    assert f"based on version {v0}" in detail and f"version {v0 + 1}" in detail
    after = gateway.client.get(f"/api/v1/sessions/{sid}/results").json()
    assert [s["name"] for s in after["snippets"]] == ["Mine"]
    assert after["plan_version"] == v0 + 1

    # Without base_version the contract's PATCH is unchanged: it replaces the plan (and bumps the version).
    plain = gateway.client.patch(f"/api/v1/sessions/{sid}/plan", json=plan("Anyone"))
    assert plain.status_code == 200
    assert plain.json()["plan_version"] == v0 + 2
    assert gateway.client.patch(f"/api/v1/sessions/{sid}/plan", json=plan("x", -1)).status_code == 422


def test_a_processing_session_is_409_with_or_without_a_version(gateway: Gateway) -> None:
    sid = upload(gateway)["id"]
    for body in (plan("a"), plan("a", 0)):
        resp = gateway.client.patch(f"/api/v1/sessions/{sid}/plan", json=body)
        assert resp.status_code == 409
        assert "Pending" in resp.json()["detail"]


def test_the_worker_finishing_an_analysis_bumps_the_version_and_a_plan_keeping_one_does_not(
    gateway: Gateway,
) -> None:
    sid = finished_session(gateway)["id"]
    version = gateway.client.get(f"/api/v1/sessions/{sid}/results").json()["plan_version"]
    factory = gateway.state.session_factory

    def job_id() -> str:
        with factory() as db:
            row = db.get(LectureSession, sid)
            assert row is not None
            return row.job_id

    for keep_plan in (False, True):
        with factory() as db:
            assert lifecycle.retranscribe(db, sid, job_id(), keep_plan).applied
            db.commit()
        job = job_id()
        with factory() as db:
            if keep_plan:
                assert lifecycle.start_transcribing(db, sid, job, 1).applied
                assert lifecycle.finish_keeping_plan(db, sid, job).applied
            else:
                assert lifecycle.start_analyzing(db, sid, job, 1).applied
                assert lifecycle.finish(db, sid, job, [PlanEntry("Analyzer", 2.0, 9.0)], "lexical").applied
            db.commit()
        out = gateway.client.get(f"/api/v1/sessions/{sid}/results").json()
        assert out["job_status"] == "Finished"
        assert [s["name"] for s in out["snippets"]] == ["Analyzer"]
        assert out["plan_version"] == version + 1  # the re-analysis bumped it; keeping the plan did not
    # A tab that loaded the plan before the re-analysis cannot overwrite it.
    resp = gateway.client.patch(f"/api/v1/sessions/{sid}/plan", json=plan("Old tab", version))
    assert resp.status_code == 409


def test_two_patches_on_the_same_version_one_saves_one_is_409(gateway: Gateway) -> None:
    sid = finished_session(gateway)["id"]
    version = gateway.client.get(f"/api/v1/sessions/{sid}/results").json()["plan_version"]
    first_in, release = threading.Event(), threading.Event()
    paused: list[bool] = []

    # The first PATCH stops right after its plan_version UPDATE (holding the row) until the second has
    # read the session and is on its way to write: a check apart from the write lets both through.
    def hold(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.startswith("UPDATE sessions SET plan_version") and not paused:
            paused.append(True)
            first_in.set()
            release.wait(10)

    engine = gateway.state.db_engine
    event.listen(engine, "after_cursor_execute", hold)
    codes: dict[str, int] = {}

    def patch(name: str) -> None:
        codes[name] = gateway.client.patch(
            f"/api/v1/sessions/{sid}/plan", json=plan(name, version)
        ).status_code

    try:
        first = threading.Thread(target=patch, args=("First",))
        first.start()
        assert first_in.wait(10)
        second = threading.Thread(target=patch, args=("Second",))
        second.start()
        time.sleep(0.4)  # the second request reads, then waits for the row
        release.set()
        first.join(15)
        second.join(15)
    finally:
        release.set()
        event.remove(engine, "after_cursor_execute", hold)
    assert codes == {"First": 200, "Second": 409}
    out = gateway.client.get(f"/api/v1/sessions/{sid}/results").json()
    assert [s["name"] for s in out["snippets"]] == ["First"]
    assert out["plan_version"] == version + 1
