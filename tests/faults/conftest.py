"""The real stack as processes, shared by the fault tests, each test finding every piece up again."""

from __future__ import annotations

from collections.abc import Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fakes.fake_drive import FakeDrive
from tests.fakes.fake_openai import FakeOpenAI, fake_openai_server
from tests.fixtures.media import lecture_video
from tests.fixtures.stack import SERVICES, ProcessStack

LECTURE = (
    "Welcome to the lecture on motion. Today we talk about Newton's laws. "
    "The second law says force equals mass times acceleration. "
    "Now let us change topic and talk about energy. "
    "Energy is conserved in a closed system. Kinetic energy is one half m v squared. "
    "That is all for today, thank you."
)
LLM_MODEL = "fake-vllm-model"
# Small budgets so a redelivery comes within seconds: a worker killed mid-job loses its message's ack
# after AIAT_JOB_ACK_WAIT_SECONDS; each try waits up to AIAT_SERVICE_READY_WAIT_SECONDS for a service.
STACK_ENV = {
    "AIAT_ANALYZER_ENGINE": "lexical",
    "AIAT_ANALYZER_MIN_SECONDS": "5",
    "AIAT_ANALYZER_MAX_SECONDS": "20",
    "AIAT_JOB_ACK_WAIT_SECONDS": "4",
    "AIAT_JOB_MAX_DELIVER": "4",
    "AIAT_JOB_BACKOFF_SECONDS": "0.5",
    "AIAT_JOB_BACKOFF_MAX_SECONDS": "1",
    "AIAT_SERVICE_READY_WAIT_SECONDS": "30",
    "AIAT_RECONCILE_INTERVAL_SECONDS": "1",
    "AIAT_WORKER_GRACE_SECONDS": "5",
    "AIAT_RENDER_INTRO": "false",
    "AIAT_LOG_LEVEL": "INFO",
}


@dataclass
class Faults:
    """What a fault test drives: the processes, the fake Drive with its lecture, a fake LLM."""

    stack: ProcessStack
    drive: FakeDrive
    video: Path
    llm: FakeOpenAI

    @property
    def client(self) -> httpx.Client:
        """A fresh API client."""
        return self.stack.client()

    def upload(self, name: str = "Motion") -> int:
        """Upload the lecture under a new Drive file id; returns the session id."""
        file_id = self.drive.new_id()
        self.drive.add_file(file_id, self.video, filename=f"{name}.mp4")
        return self.upload_id(file_id, name)

    def upload_id(self, file_id: str, name: str = "Motion") -> int:
        """Upload an already served Drive file; returns the session id."""
        body = {"name": name, "module": "Physics", "drive_link": self.drive.share_link(file_id)}
        created = self.client.post("/api/v1/upload-session", json=body)
        assert created.status_code == 200, created.text
        session_id: int = created.json()["id"]
        return session_id

    def llm_analyzer_env(self) -> dict[str, str]:
        """Analyzer settings for the vllm engine against the fake LLM (a step the test can hold)."""
        return {
            "AIAT_ANALYZER_ENGINE": "vllm",
            "AIAT_ANALYZER_VLLM_URL": self.llm.url,
            "AIAT_ANALYZER_VLLM_MODEL": LLM_MODEL,
            "AIAT_ANALYZER_VLLM_STARTUP_TIMEOUT": "10",
            # One model call per analysis (the labels), which the tests hold or rewrite.
            "AIAT_ANALYZER_LLM_PLACES_BOUNDARIES": "false",
        }


@pytest.fixture(scope="package")
def faults(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Faults]:
    """The stack, started once for the package; tests kill and restart its pieces."""
    tmp = tmp_path_factory.mktemp("faults")
    video = lecture_video(tmp / "lecture.mp4", LECTURE)
    with FakeDrive() as drive, fake_openai_server([LLM_MODEL]) as llm:
        stack = ProcessStack(tmp / "stack", {**STACK_ENV, "AIAT_DRIVE_ENDPOINT": drive.base_url})
        try:
            stack.start_all()
            yield Faults(stack, drive, video, llm)
        finally:
            stack.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[Any]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Keep the call's report on the item, so the fixture below can print logs after a failure."""
    report = yield
    if report.when == "call":
        item.rep_call = report  # type: ignore[attr-defined]
    return report


@pytest.fixture(autouse=True)
def every_piece_up(faults: Faults, request: pytest.FixtureRequest) -> Iterator[Faults]:
    """Before each test: NATS and every process running with the stack's settings, the gateway ready."""
    stack = faults.stack
    if not stack.nats_alive():
        stack.start_nats()
    for name in (*SERVICES, "worker", "gateway"):
        stack.ensure(name)
    stack.wait_ready()
    faults.llm.queue.clear()
    yield faults
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        print("\n".join(stack.log_tail(n) for n in (*SERVICES, "worker", "gateway")))
