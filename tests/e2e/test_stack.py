"""End to end: the real processes (NATS, gateway, worker, three services), driven through REST alone."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from aiat.media import probe
from aiat.nats_server import NatsServer
from aiat.net import free_port
from tests.fakes.fake_drive import FakeDrive
from tests.fixtures.media import lecture_video
from tests.fixtures.stack import AUTH_ENV, EventLog, api_client, wait_ready, wait_settled

pytestmark = pytest.mark.e2e

LECTURE = (
    "Welcome to the lecture on motion. Today we talk about Newton's laws. "
    "The first law says a body keeps moving unless a force acts on it. "
    "The second law says force equals mass times acceleration. "
    "Now let us change topic and talk about energy. "
    "Energy is conserved in a closed system. Kinetic energy is one half m v squared. "
    "Potential energy depends on height. That is all for today, thank you."
)
FLOW = ["Pending", "Processing: Downloading", "Processing: Transcribing", "Processing: Analyzing", "Finished"]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, FakeDrive, EventLog, Path]]:
    """The whole system as `make run` starts it, against a fake Drive and its own NATS server."""
    tmp = tmp_path_factory.mktemp("e2e")
    video = lecture_video(tmp / "lecture.mp4", LECTURE)
    port = free_port()
    with FakeDrive() as drive, NatsServer(tmp / "nats") as nats_server:
        drive.add_file(
            "1LectureVideoFileId_abcdefghijklmn", video, filename="Physics lecture 1.mp4", large=True
        )
        env = {
            **os.environ,
            **AUTH_ENV,
            "AIAT_DATA_DIR": str(tmp / "data"),
            "AIAT_HTTP_PORT": str(port),
            "AIAT_NATS_URL": nats_server.url,
            "AIAT_DRIVE_ENDPOINT": drive.base_url,
            "AIAT_ANALYZER_MIN_SECONDS": "5",
            "AIAT_ANALYZER_MAX_SECONDS": "30",
            "AIAT_JOB_BACKOFF_SECONDS": "1",
        }
        proc = subprocess.Popen([sys.executable, "-m", "aiat_gateway.stack"], env=env)
        base = f"http://127.0.0.1:{port}"
        events = EventLog(nats_server.url).start()
        try:
            wait_ready(base, 180, alive=lambda: proc.poll() is None)
            yield base, drive, events, tmp
        finally:
            events.stop()
            proc.send_signal(signal.SIGINT)
            try:
                code = proc.wait(90)
            except subprocess.TimeoutExpired:
                proc.kill()
                raise
        assert code == 0, f"the stack exited with {code} on Ctrl-C"


def test_lecture_to_snippet_through_rest(stack: tuple[str, FakeDrive, EventLog, Path]) -> None:
    base, drive, events, tmp = stack
    client = api_client(base)
    link = drive.share_link("1LectureVideoFileId_abcdefghijklmn")
    created = client.post(
        "/api/v1/upload-session", json={"name": "Motion", "module": "Physics", "drive_link": link}
    )
    assert created.status_code == 200, created.text
    session_id = created.json()["id"]
    assert created.json()["job_status"] == "Pending"

    final, polled = wait_settled(client, session_id)
    results = client.get(f"/api/v1/sessions/{session_id}/results").json()
    assert final == "Finished", results.get("error_message")
    assert polled == [s for s in FLOW if s in polled], polled  # REST saw them in order
    time.sleep(0.5)
    assert events.statuses(session_id) == FLOW[1:], events.statuses(session_id)  # every step, in order

    snippets = results["snippets"]
    duration = results["media_duration"]
    assert snippets and duration and duration > 20
    for s in snippets:
        assert 0 <= s["start"] < s["end"] <= duration + 1e-6
        assert s["name"].strip()
    transcript = client.get(
        f"/api/v1/sessions/{session_id}/transcript", params={"format": "txt"}
    ).text.lower()
    assert "newton" in transcript and "energy" in transcript

    plan = {
        "snippets": [
            {"name": 'Newton: "F = ma" 100%', "start": 2.0, "end": 12.0, "summary": "The second law."},
            {"name": "Energy", "start": 14.0, "end": 24.0, "summary": "Conservation."},
        ]
    }
    patched = client.patch(f"/api/v1/sessions/{session_id}/plan", json=plan)
    assert patched.status_code == 200, patched.text
    first = patched.json()["snippets"][0]

    started = client.post(f"/api/v1/snippets/{first['id']}/process")
    assert started.status_code == 200
    assert started.json()["message"] == "Snippet processing started"
    task_id = started.json()["task_id"]
    deadline = time.monotonic() + 300
    task_statuses: list[str] = []
    while time.monotonic() < deadline:
        task = client.get(f"/api/v1/snippets/tasks/{task_id}").json()
        if not task_statuses or task_statuses[-1] != task["status"]:
            task_statuses.append(task["status"])
        if task["status"] in ("SUCCESS", "FAILURE"):
            break
        time.sleep(0.2)
    assert task["status"] == "SUCCESS", task
    assert task["result"] == "Processed 1 videos."
    assert task_statuses[0] in ("PENDING", "STARTED")

    snippet = client.get(f"/api/v1/snippets/{first['id']}").json()
    assert snippet["storage_link"] == "1)_Newton_F_ma_100.mp4"
    download = client.get(f"/api/v1/snippets/{first['id']}/download")
    assert download.status_code == 200
    assert download.headers["content-type"] == "video/mp4"
    out = tmp / "downloaded.mp4"
    out.write_bytes(download.content)
    info = probe(out)
    assert info.video_codec == "h264" and info.audio_codec == "aac"
    assert 10.0 <= info.duration <= 16.0  # 10 s cut plus the intro card
    static = client.get(f"/output/{session_id}/snippets/{snippet['storage_link']}")
    assert static.status_code == 200 and static.content == download.content
    srt = client.get(f"/output/{session_id}/snippets/1)_Newton_F_ma_100.srt")
    assert srt.status_code == 200 and "-->" in srt.text


def test_private_file_fails_with_a_clear_message(stack: tuple[str, FakeDrive, EventLog, Path]) -> None:
    base, drive, _events, _tmp = stack
    client = api_client(base)
    link = drive.add_private("1PrivateVideoFileId_abcdefghijklmnop")
    created = client.post("/api/v1/upload-session", json={"name": "Private", "drive_link": link})
    assert created.status_code == 200
    final, _ = wait_settled(client, created.json()["id"], timeout=120)
    assert final == "Failed"
    results = client.get(f"/api/v1/sessions/{created.json()['id']}/results").json()
    assert "not shared publicly" in results["error_message"]
    assert results["snippets"] == []
