"""Every endpoint of the REST contract, its status codes and its bad inputs (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import re

import nats
import pytest

from aiat_gateway.db.models import OutboxMessage, RenderTask
from aiat_gateway.naming import snippet_filename
from aiat_gateway.plans import PlanEntry
from tests.gateway import seed
from tests.gateway.conftest import Gateway

ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


def upload(gw: Gateway, n: int = 1, **fields: object) -> dict:
    body = {
        "name": f"Lecture {n}",
        "module": "Physics",
        "drive_link": seed.LINK.format(seed.file_id(n)),
        **fields,
    }
    resp = gw.client.post("/api/v1/upload-session", json=body)
    assert resp.status_code == 200, resp.text
    return resp.json()


def finished_session(gw: Gateway, n: int = 1) -> dict:
    session = upload(gw, n)
    seed.finish(
        gw.state,
        session["id"],
        [
            PlanEntry("Newton's laws", 0.5, 20.25, "Force and mass."),
            PlanEntry("Energy", 25.0, 50.0, "Conservation."),
        ],
    )
    return session


def jetstream_messages(gw: Gateway) -> int:
    async def count() -> int:
        assert gw.nats is not None
        nc = await nats.connect(gw.nats.url)
        try:
            info = await nc.jetstream().stream_info(gw.settings.jobs_stream)
            return int(info.state.messages)
        finally:
            await nc.close()

    return asyncio.run(count())


# 1.1 Upload Session


def test_upload_creates_pending_session_and_publishes_a_job(gateway: Gateway) -> None:
    body = upload(gateway)
    assert body["name"] == "Lecture 1"
    assert body["module"] == "Physics"
    assert body["drive_link"] == seed.LINK.format(seed.file_id(1))
    assert body["job_status"] == "Pending"
    assert isinstance(body["id"], int)
    assert ISO_Z.match(body["created_at"]), body["created_at"]
    with gateway.state.session_factory() as db:
        rows = db.query(OutboxMessage).all()
    assert len(rows) == 1 and rows[0].published_at is not None
    assert jetstream_messages(gateway) == 1


def test_upload_module_is_optional(gateway: Gateway) -> None:
    resp = gateway.client.post(
        "/api/v1/upload-session", json={"name": "L", "drive_link": seed.LINK.format(seed.file_id(7))}
    )
    assert resp.status_code == 200
    assert resp.json()["module"] is None


def test_upload_same_drive_link_twice_is_400(gateway: Gateway) -> None:
    upload(gateway, 1)
    resp = gateway.client.post(
        "/api/v1/upload-session", json={"name": "again", "drive_link": seed.LINK.format(seed.file_id(1))}
    )
    assert resp.status_code == 400
    assert "already exists" in resp.json()["detail"]


def test_upload_same_file_by_another_link_shape_is_400(gateway: Gateway) -> None:
    upload(gateway, 1)
    other = f"https://drive.google.com/open?id={seed.file_id(1)}"
    resp = gateway.client.post("/api/v1/upload-session", json={"name": "again", "drive_link": other})
    assert resp.status_code == 400


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"name": "L", "drive_link": "https://example.com/video.mp4"}, "drive"),
        (
            {
                "name": "L",
                "drive_link": "https://drive.google.com/drive/folders/1AbCdEfGhIjKlMnOpQrStUvWxYz0",
            },
            "folder",
        ),
        ({"name": "L", "drive_link": "not a url"}, ""),
        ({"name": "L", "drive_link": "ftp://drive.google.com/file/d/1AbCdEfGhIjKlMnOpQrStUvWxYz0/view"}, ""),
        (
            {
                "name": "   ",
                "drive_link": "https://drive.google.com/file/d/1AbCdEfGhIjKlMnOpQrStUvWxYz0/view",
            },
            "name",
        ),
        ({"drive_link": "https://drive.google.com/file/d/1AbCdEfGhIjKlMnOpQrStUvWxYz0/view"}, "name"),
        ({"name": "L"}, "drive_link"),
    ],
)
def test_upload_bad_input_is_422_and_creates_nothing(gateway: Gateway, body: dict, needle: str) -> None:
    resp = gateway.client.post("/api/v1/upload-session", json=body)
    assert resp.status_code == 422, resp.text
    assert needle.lower() in resp.json()["detail"].lower()
    assert gateway.client.get("/api/v1/sessions").json() == []


def test_upload_is_accepted_while_nats_is_down_and_published_later(gateway: Gateway) -> None:
    from aiat_gateway.worker.reconciler import Reconciler

    assert gateway.nats is not None
    gateway.nats.stop()
    body = upload(gateway, 3)
    assert body["job_status"] == "Pending"
    with gateway.state.session_factory() as db:
        assert db.query(OutboxMessage).one().published_at is None
    gateway.nats.start()

    async def reconcile() -> None:
        from aiat_gateway.nats_client import NatsClient

        client = NatsClient(gateway.nats.url, gateway.settings.jobs_stream)  # type: ignore[union-attr]
        await client.connect(wait=10)
        await Reconciler(gateway.state.session_factory, client, gateway.settings).tick()
        await client.close()

    asyncio.run(reconcile())
    with gateway.state.session_factory() as db:
        assert db.query(OutboxMessage).one().published_at is not None
    assert jetstream_messages(gateway) == 1


# 1.2 List Sessions


def test_list_sessions_pagination_and_sorting(gateway: Gateway) -> None:
    for n, name in enumerate(["Charlie", "alpha", "Bravo"], 1):
        upload(gateway, n, name=name)
    default = gateway.client.get("/api/v1/sessions").json()
    assert [s["name"] for s in default] == ["Bravo", "alpha", "Charlie"]  # newest first
    asc = gateway.client.get("/api/v1/sessions", params={"sort_by": "id", "order": "asc"}).json()
    assert [s["id"] for s in asc] == sorted(s["id"] for s in asc)
    page = gateway.client.get(
        "/api/v1/sessions", params={"skip": 1, "limit": 1, "sort_by": "id", "order": "asc"}
    )
    assert [s["id"] for s in page.json()] == [asc[1]["id"]]
    assert all(s["job_status"] == "Pending" for s in default)


@pytest.mark.parametrize(
    "params",
    [
        {"sort_by": "drive_link; DROP TABLE sessions"},
        {"sort_by": "nonexistent"},
        {"order": "sideways"},
        {"limit": 0},
        {"limit": 100000},
        {"skip": -1},
        {"skip": "abc"},
    ],
)
def test_list_sessions_bad_query_is_422(gateway: Gateway, params: dict) -> None:
    resp = gateway.client.get("/api/v1/sessions", params=params)
    assert resp.status_code == 422, resp.text
    assert resp.json()["detail"]


# 1.3 Job status


def test_job_status(gateway: Gateway) -> None:
    session = upload(gateway)
    resp = gateway.client.get(f"/api/v1/jobs/{session['id']}/status")
    assert resp.status_code == 200
    assert resp.json()["job_status"] == "Pending"
    assert gateway.client.get("/api/v1/jobs/999999/status").status_code == 404


def test_failed_session_keeps_its_error(gateway: Gateway) -> None:
    session = upload(gateway)
    seed.fail(gateway.state, session["id"], "Download failed: the file is not public")
    status = gateway.client.get(f"/api/v1/jobs/{session['id']}/status").json()
    assert status["job_status"] == "Failed"
    results = gateway.client.get(f"/api/v1/sessions/{session['id']}/results").json()
    assert results["error_message"] == "Download failed: the file is not public"


# 1.4 Results


def test_results_lists_snippets_with_integer_and_exact_times(gateway: Gateway) -> None:
    session = finished_session(gateway)
    resp = gateway.client.get(f"/api/v1/sessions/{session['id']}/results")
    assert resp.status_code == 200
    body = resp.json()
    assert body["job_status"] == "Finished"
    first = body["snippets"][0]
    assert first["name"] == "Newton's laws"
    assert first["summary"] == "Force and mass."
    assert (first["start_second"], first["end_second"]) == (0, 21)
    assert isinstance(first["start_second"], int)
    assert (first["start"], first["end"]) == (0.5, 20.25)
    assert first["session_id"] == session["id"]
    assert ISO_Z.match(first["created_at"])
    assert gateway.client.get("/api/v1/sessions/424242/results").status_code == 404


# 1.5 Plan


def test_plan_replaces_snippets(gateway: Gateway) -> None:
    session = finished_session(gateway)
    old_ids = {
        s["id"] for s in gateway.client.get(f"/api/v1/sessions/{session['id']}/results").json()["snippets"]
    }
    plan = {"snippets": [{"name": "Custom Snippet Name", "start": 12.5, "end": 30.2, "summary": "Brief"}]}
    resp = gateway.client.patch(f"/api/v1/sessions/{session['id']}/plan", json=plan)
    assert resp.status_code == 200, resp.text
    snippets = resp.json()["snippets"]
    assert len(snippets) == 1
    assert snippets[0]["name"] == "Custom Snippet Name"
    assert (snippets[0]["start"], snippets[0]["end"]) == (12.5, 30.2)
    assert (snippets[0]["start_second"], snippets[0]["end_second"]) == (12, 31)
    assert snippets[0]["id"] not in old_ids
    assert snippets[0]["origin"] == "manual"


@pytest.mark.parametrize(
    ("snippet", "needle"),
    [
        ({"name": "x", "start": 10, "end": 5}, "start < end"),
        ({"name": "x", "start": 10, "end": 10}, "start < end"),
        ({"name": "x", "start": -1, "end": 5}, "start"),
        ({"name": "x", "start": 1, "end": 61}, "past the end"),
        ({"name": "  ", "start": 1, "end": 5}, "name"),
        ({"start": 1, "end": 5}, "name"),
        ({"name": "x", "start": "soon", "end": 5}, "start"),
    ],
)
def test_plan_rejects_bad_snippets_and_keeps_the_old_plan(
    gateway: Gateway, snippet: dict, needle: str
) -> None:
    session = finished_session(gateway)
    plan = {"snippets": [{"name": "fine", "start": 1, "end": 2}, snippet]}
    resp = gateway.client.patch(f"/api/v1/sessions/{session['id']}/plan", json=plan)
    assert resp.status_code == 422, resp.text
    assert needle in resp.json()["detail"]
    kept = gateway.client.get(f"/api/v1/sessions/{session['id']}/results").json()["snippets"]
    assert [s["name"] for s in kept] == ["Newton's laws", "Energy"]


def test_plan_count_is_bounded(gateway: Gateway) -> None:
    session = finished_session(gateway)
    limit = gateway.settings.max_plan_snippets
    plan = {
        "snippets": [{"name": f"s{i}", "start": i * 0.1, "end": i * 0.1 + 0.05} for i in range(limit + 1)]
    }
    resp = gateway.client.patch(f"/api/v1/sessions/{session['id']}/plan", json=plan)
    assert resp.status_code == 422
    assert "at most" in resp.json()["detail"]


def test_plan_of_unknown_or_processing_session(gateway: Gateway) -> None:
    plan = {"snippets": [{"name": "a", "start": 1, "end": 2}]}
    assert gateway.client.patch("/api/v1/sessions/9999/plan", json=plan).status_code == 404
    session = upload(gateway)
    resp = gateway.client.patch(f"/api/v1/sessions/{session['id']}/plan", json=plan)
    assert resp.status_code == 409
    assert "Pending" in resp.json()["detail"]


def test_plan_update_removes_stale_rendered_files(gateway: Gateway) -> None:
    session = finished_session(gateway)
    snippet = gateway.client.get(f"/api/v1/sessions/{session['id']}/results").json()["snippets"][0]
    filename = snippet_filename(1, snippet["name"])
    out = gateway.state.store.write_bytes_atomic(f"output/{session['id']}/snippets/{filename}", b"mp4")
    with gateway.state.session_factory() as db:
        from aiat_gateway.db.models import Snippet

        row = db.get(Snippet, snippet["id"])
        assert row is not None
        row.storage_link = filename
        db.commit()
    plan = {"snippets": [{"name": "Newton's laws", "start": 1, "end": 2}]}
    assert gateway.client.patch(f"/api/v1/sessions/{session['id']}/plan", json=plan).status_code == 200
    assert not out.exists()
    assert gateway.client.get(f"/output/{session['id']}/snippets/{filename}").status_code == 404


# 2.1 Snippet details; 2.2 process; 2.3 task status


def test_snippet_details_and_process_flow(gateway: Gateway) -> None:
    session = finished_session(gateway)
    snippet = gateway.client.get(f"/api/v1/sessions/{session['id']}/results").json()["snippets"][0]
    details = gateway.client.get(f"/api/v1/snippets/{snippet['id']}")
    assert details.status_code == 200
    assert details.json()["storage_link"] is None
    assert gateway.client.get("/api/v1/snippets/987654").status_code == 404

    resp = gateway.client.post(f"/api/v1/snippets/{snippet['id']}/process")
    assert resp.status_code == 200
    body = resp.json()
    assert body["message"] == "Snippet processing started"
    task_id = body["task_id"]
    again = gateway.client.post(f"/api/v1/snippets/{snippet['id']}/process").json()
    assert again["task_id"] == task_id  # one task per snippet while it runs
    status = gateway.client.get(f"/api/v1/snippets/tasks/{task_id}")
    assert status.status_code == 200
    assert status.json()["task_id"] == task_id
    assert status.json()["status"] == "PENDING"
    assert gateway.client.get("/api/v1/snippets/tasks/nope").status_code == 404
    assert jetstream_messages(gateway) == 2  # the session job and the render job


def test_process_options_are_validated(gateway: Gateway) -> None:
    session = finished_session(gateway)
    snippet = gateway.client.get(f"/api/v1/sessions/{session['id']}/results").json()["snippets"][0]
    resp = gateway.client.post(f"/api/v1/snippets/{snippet['id']}/process", json={"aspect": "diagonal"})
    assert resp.status_code == 422
    resp = gateway.client.post(f"/api/v1/snippets/{snippet['id']}/process", json={"aspect": "vertical"})
    assert resp.status_code == 200
    with gateway.state.session_factory() as db:
        task = db.get(RenderTask, resp.json()["task_id"])
        assert task is not None and '"aspect": "vertical"' in task.options_json


def test_process_before_session_finished_is_409(gateway: Gateway) -> None:
    session = finished_session(gateway)
    snippet = gateway.client.get(f"/api/v1/sessions/{session['id']}/results").json()["snippets"][0]
    seed.fail(gateway.state, session["id"], "boom")
    resp = gateway.client.post(f"/api/v1/snippets/{snippet['id']}/process")
    assert resp.status_code == 409
    assert gateway.client.post("/api/v1/snippets/123456/process").status_code == 404


# 2.4 Download; 2.5 static output


def test_download_and_static_output(gateway: Gateway) -> None:
    session = finished_session(gateway)
    snippet = gateway.client.get(f"/api/v1/sessions/{session['id']}/results").json()["snippets"][0]
    resp = gateway.client.get(f"/api/v1/snippets/{snippet['id']}/download")
    assert resp.status_code == 409
    assert "not been rendered" in resp.json()["detail"]

    filename = snippet_filename(1, snippet["name"])
    assert filename == "1)_Newton_s_laws.mp4"
    payload = bytes(range(256)) * 40
    gateway.state.store.write_bytes_atomic(f"output/{session['id']}/snippets/{filename}", payload)
    with gateway.state.session_factory() as db:
        from aiat_gateway.db.models import Snippet

        row = db.get(Snippet, snippet["id"])
        assert row is not None
        row.storage_link = filename
        db.commit()
    assert gateway.client.get(f"/api/v1/snippets/{snippet['id']}").json()["storage_link"] == filename

    full = gateway.client.get(f"/api/v1/snippets/{snippet['id']}/download")
    assert full.status_code == 200
    assert full.headers["content-type"] == "video/mp4"
    assert full.content == payload
    part = gateway.client.get(
        f"/api/v1/snippets/{snippet['id']}/download", headers={"Range": "bytes=100-199"}
    )
    assert part.status_code == 206
    assert part.headers["content-range"] == f"bytes 100-199/{len(payload)}"
    assert part.content == payload[100:200]

    static = gateway.client.get(f"/output/{session['id']}/snippets/{filename}")
    assert static.status_code == 200 and static.content == payload
    assert gateway.client.get(f"/output/{session['id']}/snippets/nope.mp4").status_code == 404
    assert gateway.client.get(f"/output/{session['id']}/snippets/..%2F..%2Faiat.db").status_code == 404
    assert gateway.client.get(f"/output/{session['id']}/snippets/.{filename}.tmp.part").status_code == 404

    (gateway.state.store.resolve(f"output/{session['id']}/snippets/{filename}")).unlink()
    gone = gateway.client.get(f"/api/v1/snippets/{snippet['id']}/download")
    assert gone.status_code == 404
    assert "missing" in gone.json()["detail"]


# Transcript (extra endpoint)


def test_transcript_formats(gateway: Gateway) -> None:
    session = upload(gateway)
    resp = gateway.client.get(f"/api/v1/sessions/{session['id']}/transcript")
    assert resp.status_code == 409
    seed.finish(gateway.state, session["id"], [])
    data = gateway.client.get(f"/api/v1/sessions/{session['id']}/transcript").json()
    assert data["language"] == "en"
    assert data["segments"][0]["words"][0]["text"] == " w0"
    srt = gateway.client.get(f"/api/v1/sessions/{session['id']}/transcript", params={"format": "srt"}).text
    assert srt.startswith("1\n00:00:01,000 --> 00:00:02,900\nForce equals mass times acceleration.\n")
    vtt = gateway.client.get(f"/api/v1/sessions/{session['id']}/transcript", params={"format": "vtt"}).text
    assert vtt.startswith("WEBVTT\n\n00:00:01.000 --> 00:00:02.900\n")
    txt = gateway.client.get(f"/api/v1/sessions/{session['id']}/transcript", params={"format": "txt"}).text
    assert txt == "Force equals mass times acceleration.\nEnergy is conserved.\n"
    bad = gateway.client.get(f"/api/v1/sessions/{session['id']}/transcript", params={"format": "doc"})
    assert bad.status_code == 422
    assert gateway.client.get("/api/v1/sessions/5555/transcript").status_code == 404


# Health


def test_healthz_and_readyz_names_what_is_down(gateway: Gateway) -> None:
    assert gateway.client.get("/healthz").json() == {"status": "ok"}
    resp = gateway.client.get("/readyz")
    assert resp.status_code == 503
    body = resp.json()
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["nats"] == "ok"
    assert set(body["failing"]) == {"transcriber", "analyzer", "renderer"}
    assert body["checks"]["transcriber"].startswith("UNAVAILABLE")


# Hostile input: always a 4xx with a clear message, never a 500


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("get", "/api/v1/jobs/99999999999999999999/status", None),
        ("get", "/api/v1/snippets/99999999999999999999", None),
        ("get", "/api/v1/sessions?skip=99999999999999999999", None),
        ("get", "/api/v1/sessions/0/results", None),
        ("get", "/api/v1/snippets/tasks/a%00b", None),
        ("get", "/api/v1/snippets/tasks/" + "a" * 100, None),
        (
            "post",
            "/api/v1/upload-session",
            {"name": "a\u0000b", "drive_link": seed.LINK.format(seed.file_id(1))},
        ),
        ("post", "/api/v1/upload-session", {"name": "L", "drive_link": seed.LINK.format("x" * 300)}),
    ],
)
def test_hostile_input_is_a_4xx(gateway: Gateway, method: str, path: str, body: dict | None) -> None:
    resp = gateway.client.request(method, path, json=body)
    assert 400 <= resp.status_code < 500, (resp.status_code, resp.text)
    assert resp.json()["detail"]


@pytest.mark.parametrize("raw", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_plan_with_non_finite_times_is_422(gateway: Gateway, raw: str) -> None:
    session = finished_session(gateway)
    body = '{"snippets": [{"name": "x", "start": ' + raw + ', "end": 5}]}'
    resp = gateway.client.patch(
        f"/api/v1/sessions/{session['id']}/plan", content=body, headers={"content-type": "application/json"}
    )
    assert resp.status_code == 422, resp.text
    assert "start" in resp.json()["detail"]


def test_plan_with_control_characters_is_422(gateway: Gateway) -> None:
    session = finished_session(gateway)
    plan = {"snippets": [{"name": "bad\u0000name", "start": 1, "end": 2}]}
    resp = gateway.client.patch(f"/api/v1/sessions/{session['id']}/plan", json=plan)
    assert resp.status_code == 422
    assert "control characters" in resp.json()["detail"]


def test_missing_transcript_file_is_409_not_500(gateway: Gateway) -> None:
    session = upload(gateway)
    seed.finish(gateway.state, session["id"], [])
    gateway.state.store.resolve(f"sessions/{session['id']}/transcript.json").unlink()
    resp = gateway.client.get(f"/api/v1/sessions/{session['id']}/transcript")
    assert resp.status_code == 409
    assert "missing" in resp.json()["detail"]


def test_concurrent_plan_updates_never_mix(gateway: Gateway) -> None:
    from concurrent.futures import ThreadPoolExecutor

    session = finished_session(gateway)
    plans = [
        {"snippets": [{"name": f"p{n}-{i}", "start": i * 5.0, "end": i * 5.0 + 4} for i in range(3)]}
        for n in range(6)
    ]
    with ThreadPoolExecutor(max_workers=6) as pool:
        codes = list(
            pool.map(
                lambda p: gateway.client.patch(f"/api/v1/sessions/{session['id']}/plan", json=p).status_code,
                plans,
            )
        )
    assert codes == [200] * 6
    snippets = gateway.client.get(f"/api/v1/sessions/{session['id']}/results").json()["snippets"]
    assert [s["position"] for s in snippets] == [1, 2, 3]
    assert len({s["name"].split("-")[0] for s in snippets}) == 1  # all from one plan


def test_retry_a_failed_session(gateway: Gateway) -> None:
    session = upload(gateway)
    assert gateway.client.post(f"/api/v1/sessions/{session['id']}/retry").status_code == 409  # still Pending
    seed.fail(gateway.state, session["id"], "Download failed: quota")
    resp = gateway.client.post(f"/api/v1/sessions/{session['id']}/retry")
    assert resp.status_code == 200, resp.text
    assert resp.json()["job_status"] == "Pending"
    assert resp.json()["error_message"] is None
    assert gateway.client.get(f"/api/v1/jobs/{session['id']}/status").json()["job_status"] == "Pending"
    assert jetstream_messages(gateway) == 2  # the first job and the retry's
    assert gateway.client.post("/api/v1/sessions/777/retry").status_code == 404
