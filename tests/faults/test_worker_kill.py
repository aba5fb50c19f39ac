"""The worker SIGKILLed mid-step: a new worker finishes the job once, leaving no stray file."""

from __future__ import annotations

import pytest

from tests.faults.checks import assert_clean_output, assert_clean_session, session_attempts
from tests.faults.conftest import Faults
from tests.fixtures.stack import TERMINAL_TASK, wait_settled, wait_task, wait_until

pytestmark = pytest.mark.e2e


def status(faults: Faults, session_id: int) -> str:
    """The session's job status over REST."""
    job_status: str = faults.client.get(f"/api/v1/jobs/{session_id}/status").json()["job_status"]
    return job_status


def test_worker_killed_during_the_download(faults: Faults) -> None:
    stack, drive = faults.stack, faults.drive
    file_id = drive.new_id()
    drive.add_file(file_id, faults.video, filename="Motion.mp4")
    held, release = drive.hold_next(file_id, after_bytes=64 << 10)
    session_id = faults.upload_id(file_id)
    assert held.wait(30), "the download never started"
    assert status(faults, session_id) == "Processing: Downloading"
    stack.kill("worker")
    release.set()
    stack.start("worker")
    final, _ = wait_settled(faults.client, session_id, timeout=120)
    assert final == "Finished", faults.client.get(f"/api/v1/sessions/{session_id}/results").text
    assert session_attempts(faults, session_id) == 2
    assert_clean_session(faults, session_id)


def finished_session(faults: Faults) -> int:
    """A session processed to Finished, for the render tests."""
    session_id = faults.upload()
    final, _ = wait_settled(faults.client, session_id, timeout=120)
    assert final == "Finished"
    return session_id


def test_worker_killed_during_the_transcription(faults: Faults) -> None:
    session_id = faults.upload()
    wait_until("the transcription", lambda: status(faults, session_id) == "Processing: Transcribing", 60)
    faults.stack.kill("worker")
    faults.stack.start("worker")
    final, _ = wait_settled(faults.client, session_id, timeout=120)
    assert final == "Finished"
    assert session_attempts(faults, session_id) == 2
    assert_clean_session(faults, session_id)


def test_worker_killed_during_the_analysis(faults: Faults) -> None:
    stack = faults.stack
    # The analyzer on the vllm engine waits on the fake LLM, held until released: the call is in flight.
    stack.ensure("analyzer", **faults.llm_analyzer_env())
    stack.wait_serving("analyzer")
    held, release = faults.llm.hold_next()
    session_id = faults.upload()
    assert held.wait(60), "the analysis never reached the LLM"
    assert status(faults, session_id) == "Processing: Analyzing"
    stack.kill("worker")
    release.set()
    stack.start("worker")
    final, _ = wait_settled(faults.client, session_id, timeout=120)
    assert final == "Finished"
    assert session_attempts(faults, session_id) == 2
    assert_clean_session(faults, session_id)


def test_worker_killed_during_a_render(faults: Faults) -> None:
    stack, client = faults.stack, faults.client
    session_id = finished_session(faults)
    snippet_id = client.get(f"/api/v1/sessions/{session_id}/results").json()["snippets"][0]["id"]
    task_id = client.post(f"/api/v1/snippets/{snippet_id}/process").json()["task_id"]

    def rendering() -> bool:
        task = client.get(f"/api/v1/snippets/tasks/{task_id}").json()
        assert task["status"] not in TERMINAL_TASK, task
        return bool(task["status"] == "STARTED" and (task["progress"] or 0) > 0)

    wait_until("render progress", rendering, 60)
    stack.kill("worker")
    stack.start("worker")
    task = wait_task(client, task_id, timeout=120)
    assert task["status"] == "SUCCESS", task
    attempts = stack.scalar("SELECT attempts FROM render_tasks WHERE task_id = :id", id=task_id)
    assert attempts == 2
    assert_clean_output(faults, session_id)
