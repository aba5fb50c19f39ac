"""A worker frozen (SIGSTOP) mid-analysis past the stale timeout, a second worker taking over, the first one
thawed (SIGCONT): no status ever goes backwards and the plan the second worker wrote stays."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
from typing import Any

import pytest

from tests.fakes.fake_openai import Reply
from tests.faults.conftest import Faults
from tests.fixtures.stack import EventLog, wait_settled, wait_until

pytestmark = pytest.mark.e2e

FLOW = ["Pending", "Processing: Downloading", "Processing: Transcribing", "Processing: Analyzing", "Finished"]
# Small enough that the frozen worker is found silent within seconds (it heartbeats every second).
STALE = {"AIAT_JOB_STALE_SECONDS": "3"}


class StatusPoller:
    """Records every status the REST API shows for one session, repeats collapsed, in a thread."""

    def __init__(self, faults: Faults, session_id: int) -> None:
        self.client = faults.client
        self.session_id = session_id
        self.seen: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            status = self.client.get(f"/api/v1/jobs/{self.session_id}/status").json()["job_status"]
            if not self.seen or self.seen[-1] != status:
                self.seen.append(status)

    def stop(self) -> list[str]:
        """Stop polling; returns what was seen."""
        self._stop.set()
        self._thread.join(10)
        return self.seen


def assert_forward(statuses: list[str]) -> None:
    """Every status at or after the one before it in the session's flow."""
    ranks = [FLOW.index(s) for s in statuses]
    assert ranks == sorted(ranks), statuses


def plan(results: dict[str, Any]) -> list[tuple[int, str, float, float]]:
    """The plan as stored: snippet ids (new rows on every rewrite), names and spans."""
    return [(s["id"], s["name"], s["start"], s["end"]) for s in results["snippets"]]


def test_frozen_worker_thawed_after_a_takeover_changes_nothing(faults: Faults) -> None:
    stack, llm = faults.stack, faults.llm
    # An analysis the test can hold in flight, with a second slot for the takeover's own analysis.
    stack.ensure("analyzer", **faults.llm_analyzer_env(), AIAT_ANALYZER_MAX_CONCURRENCY="2")
    stack.wait_serving("analyzer")
    stack.ensure("worker", **STALE)

    # The frozen worker's analysis, once let go, answers with a plan of its own ("Stale ...").
    held, release = threading.Event(), threading.Event()

    def stale_plan(body: dict[str, Any]) -> Reply:
        held.set()
        release.wait(120)
        status, reply = llm.default(body)
        labels = json.loads(reply["choices"][0]["message"]["content"])
        for segment in labels["segments"]:
            segment["name"] = f"Stale {segment['name']}"
        reply["choices"][0]["message"]["content"] = json.dumps(labels)
        return status, reply

    llm.queue.append(stale_plan)
    events = EventLog(stack.nats.url).start()
    second: subprocess.Popen[bytes] | None = None
    poller: StatusPoller | None = None
    try:
        session_id = faults.upload()
        poller = StatusPoller(faults, session_id)
        assert held.wait(60), "the analysis never reached the LLM"
        stack.signal("worker", signal.SIGSTOP)
        with (stack.logs / "worker-second.log").open("wb") as log:
            second = subprocess.Popen(
                [sys.executable, "-m", "aiat_gateway.worker.main"],
                env={**stack.env, **STALE},
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        final, _ = wait_settled(faults.client, session_id, timeout=90)
        taken_over = faults.client.get(f"/api/v1/sessions/{session_id}/results").json()
        assert final == "Finished", taken_over.get("error_message")
        assert taken_over["snippets"] and not any(
            s["name"].startswith("Stale") for s in taken_over["snippets"]
        )
        announced = len(events.events)

        release.set()
        stack.signal("worker", signal.SIGCONT)
        dropped = f"session {session_id}: another delivery already finished it"
        overwrote = f"session {session_id} finished with"  # what it would log, had it stored its plan
        wait_until(
            "the thawed worker to settle its job",
            lambda: dropped in (tail := stack.log_tail("worker", 500)) or overwrote in tail,
            timeout=60,
            interval=0.2,
        )
        after = faults.client.get(f"/api/v1/sessions/{session_id}/results").json()
    finally:
        polled = poller.stop() if poller is not None else []
        release.set()
        events.stop()
        if second is not None:
            second.terminate()
            second.wait(30)

    assert after["job_status"] == "Finished"
    assert plan(after) == plan(taken_over)  # not one snippet rewritten by the thawed worker
    second_log = (stack.logs / "worker-second.log").read_text()
    assert f"session {session_id} finished with" in second_log
    assert f"session {session_id} finished with" not in stack.log_tail("worker", 500)
    assert_forward(polled)
    assert_forward(events.statuses(session_id))
    assert events.statuses(session_id)[-1] == "Finished"
    thawed = [e for e in events.events[announced:] if e.session_id == session_id]
    assert thawed == [], thawed  # the thawed worker announced nothing
