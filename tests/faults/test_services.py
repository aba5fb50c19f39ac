"""Each gRPC service SIGKILLed mid-call: the worker retries once it is back; down too long: Failed, then retry."""

from __future__ import annotations

import pytest

from tests.faults.checks import assert_clean_output, assert_clean_session, session_attempts
from tests.faults.conftest import Faults
from tests.fixtures.stack import TERMINAL_TASK, wait_settled, wait_task, wait_until

pytestmark = pytest.mark.e2e


def rendering(faults: Faults, session_id: int) -> tuple[int, str]:
    """Start the render of the session's first snippet; returns (snippet id, task id)."""
    client = faults.client
    snippet_id: int = client.get(f"/api/v1/sessions/{session_id}/results").json()["snippets"][0]["id"]
    started = client.post(f"/api/v1/snippets/{snippet_id}/process")
    assert started.status_code == 200, started.text
    task_id: str = started.json()["task_id"]
    return snippet_id, task_id


def finished(faults: Faults) -> int:
    """A new session processed to Finished."""
    session_id = faults.upload()
    final, _ = wait_settled(faults.client, session_id, timeout=120)
    assert final == "Finished"
    return session_id


def test_transcriber_killed_mid_call(faults: Faults) -> None:
    stack = faults.stack
    warmups = stack.log_count("transcriber", "Processing audio")  # the warm-up at start-up logs it once
    session_id = faults.upload()
    wait_until(
        "the transcription call", lambda: stack.log_count("transcriber", "Processing audio") > warmups, 60
    )
    stack.kill("transcriber")
    stack.start("transcriber")
    final, _ = wait_settled(faults.client, session_id, timeout=120)
    assert final == "Finished"
    assert session_attempts(faults, session_id) == 2
    assert_clean_session(faults, session_id)


def test_analyzer_killed_mid_call(faults: Faults) -> None:
    stack = faults.stack
    env = faults.llm_analyzer_env()
    stack.ensure("analyzer", **env)
    stack.wait_serving("analyzer")
    held, release = faults.llm.hold_next()
    session_id = faults.upload()
    assert held.wait(60), "the analysis never reached the LLM"
    stack.kill("analyzer")
    release.set()
    stack.start("analyzer", **env)
    final, _ = wait_settled(faults.client, session_id, timeout=120)
    assert final == "Finished"
    assert session_attempts(faults, session_id) == 2
    assert_clean_session(faults, session_id)


def test_renderer_killed_mid_call(faults: Faults) -> None:
    stack, client = faults.stack, faults.client
    session_id = finished(faults)
    _, task_id = rendering(faults, session_id)

    def in_progress() -> bool:
        task = client.get(f"/api/v1/snippets/tasks/{task_id}").json()
        assert task["status"] not in TERMINAL_TASK, task
        return bool(task["status"] == "STARTED" and (task["progress"] or 0) > 0)

    wait_until("render progress", in_progress, 60)
    stack.kill("renderer")
    stack.start("renderer")
    task = wait_task(client, task_id, timeout=120)
    assert task["status"] == "SUCCESS", task
    assert stack.scalar("SELECT attempts FROM render_tasks WHERE task_id = :id", id=task_id) == 2
    assert_clean_output(faults, session_id)


# One try waits 1 s for the service, and there are two: the service is down far longer.
SHORT_BUDGET = {"AIAT_SERVICE_READY_WAIT_SECONDS": "1", "AIAT_JOB_MAX_DELIVER": "2"}


@pytest.mark.parametrize("service", ["transcriber", "analyzer"])
def test_session_service_down_past_the_retry_budget(faults: Faults, service: str) -> None:
    stack, client = faults.stack, faults.client
    stack.ensure("worker", **SHORT_BUDGET)
    stack.kill(service)
    session_id = faults.upload()
    final, _ = wait_settled(client, session_id, timeout=60)
    assert final == "Failed"
    error = client.get(f"/api/v1/sessions/{session_id}/results").json()["error_message"]
    assert error.startswith(f"{service} is not available"), error
    assert "gave up after 2 attempts" in error
    stack.start(service)
    stack.wait_serving(service)
    retried = client.post(f"/api/v1/sessions/{session_id}/retry")
    assert retried.status_code == 200, retried.text
    final, _ = wait_settled(client, session_id, timeout=120)
    assert final == "Finished"
    assert_clean_session(faults, session_id)


def test_renderer_down_past_the_retry_budget(faults: Faults) -> None:
    stack, client = faults.stack, faults.client
    session_id = finished(faults)
    stack.ensure("worker", **SHORT_BUDGET)
    stack.kill("renderer")
    snippet_id, task_id = rendering(faults, session_id)
    task = wait_task(client, task_id, timeout=60)
    assert task["status"] == "FAILURE"
    assert str(task["error"]).startswith("renderer is not available"), task
    stack.start("renderer")
    stack.wait_serving("renderer")
    again = client.post(f"/api/v1/snippets/{snippet_id}/process")
    assert again.status_code == 200 and again.json()["task_id"] != task_id, again.text
    assert wait_task(client, again.json()["task_id"], timeout=120)["status"] == "SUCCESS"
    assert_clean_output(faults, session_id)
