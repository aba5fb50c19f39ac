"""`make run` (aiat-stack) as a real process: a child SIGKILLed mid-session is restarted and the session
finishes; a child that keeps crashing stops the stack with a clear message; SIGTERM still stops it cleanly."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from aiat.net import free_port
from tests.fakes.fake_drive import FakeDrive
from tests.faults.conftest import Faults
from tests.fixtures.stack import api_client, wait_ready, wait_settled, wait_until

pytestmark = pytest.mark.e2e


def children(pid: int) -> dict[int, str]:
    """The direct children of a process (pid -> command line), from /proc."""
    found: dict[int, str] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            try:
                cmdline = Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            except FileNotFoundError:  # gone meanwhile
                continue
            found[int(child)] = cmdline
    return found


def child_pid(pid: int, module: str) -> int:
    """The pid of the stack's child running `python -m module`."""
    pids = [p for p, cmd in children(pid).items() if f"-m {module}" in cmd]
    assert len(pids) == 1, children(pid)
    return pids[0]


def running(pid: int) -> bool:
    """True while the process exists and is not a zombie."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0] != "Z"
    except FileNotFoundError:
        return False


def stack_env(tmp: Path, **extra: str) -> dict[str, str]:
    """`make run`'s environment: its own NATS and SQLite under `tmp`, quick restarts and redeliveries."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIAT_")}
    return {
        **env,
        "AIAT_DATA_DIR": str(tmp / "data"),
        "AIAT_HTTP_PORT": str(free_port()),
        "AIAT_ANALYZER_ENGINE": "lexical",
        "AIAT_ANALYZER_MIN_SECONDS": "5",
        "AIAT_ANALYZER_MAX_SECONDS": "20",
        "AIAT_JOB_ACK_WAIT_SECONDS": "4",
        "AIAT_JOB_BACKOFF_SECONDS": "0.5",
        "AIAT_RENDER_INTRO": "false",
        "AIAT_STACK_RESTART_BACKOFF_SECONDS": "0.5",
        **extra,
    }


@pytest.fixture
def drive() -> Iterator[FakeDrive]:
    """A fake Google Drive of this test's own."""
    with FakeDrive() as fake:
        yield fake


def test_make_run_restarts_a_killed_worker_and_the_session_finishes(
    faults: Faults, drive: FakeDrive, tmp_path: Path
) -> None:
    env = stack_env(tmp_path, AIAT_DRIVE_ENDPOINT=drive.base_url)
    log_path = tmp_path / "stack.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "aiat_gateway.stack"], env=env, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        base = f"http://127.0.0.1:{env['AIAT_HTTP_PORT']}"
        wait_ready(base, 180, alive=lambda: proc.poll() is None)
        first = children(proc.pid)
        client = api_client(base)
        file_id = drive.new_id()
        drive.add_file(file_id, faults.video, filename="Motion.mp4")
        held, release = drive.hold_next(file_id, after_bytes=64 << 10)
        body = {"name": "Motion", "module": "Physics", "drive_link": drive.share_link(file_id)}
        session_id = client.post("/api/v1/upload-session", json=body).json()["id"]
        assert held.wait(30), "the download never started"

        killed = child_pid(proc.pid, "aiat_gateway.worker.main")
        os.kill(killed, signal.SIGKILL)  # as the OOM killer would
        release.set()
        wait_until(
            "the worker to be restarted",
            lambda: re.search(rf"started worker \(pid (?!{killed}\b)\d+\)", log_path.read_text()) is not None,
            timeout=30,
        )
        text = log_path.read_text()
        assert f"worker (pid {killed}) was killed by SIGKILL; restarting it in" in text, text[-3000:]
        final, _ = wait_settled(client, session_id, timeout=120)
        assert final == "Finished", client.get(f"/api/v1/sessions/{session_id}/results").text
        assert proc.poll() is None
        restarted = child_pid(proc.pid, "aiat_gateway.worker.main")
        assert restarted != killed
        assert {p for p in first if p != killed} < set(children(proc.pid))  # no other child was touched
    finally:
        release.set()
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(90)
    assert code == 0, log_path.read_text()[-3000:]
    assert not any(running(p) for p in (*first, restarted)), "a child outlived the stack"


def test_a_child_that_keeps_crashing_stops_make_run(faults: Faults, tmp_path: Path) -> None:
    env = stack_env(
        tmp_path,
        AIAT_ANALYZER_ENGINE="no-such-engine",  # the analyzer exits at start, every time
        AIAT_STACK_RESTART_BACKOFF_SECONDS="0.2",
        AIAT_STACK_MAX_RESTARTS="2",
    )
    log_path = tmp_path / "stack.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "aiat_gateway.stack"], env=env, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        code = proc.wait(120)
    finally:
        if proc.poll() is None:
            proc.kill()
    text = log_path.read_text()
    assert code == 1, text[-3000:]
    assert len(re.findall(r"analyzer \(pid \d+\) exited with code 1; restarting it in", text)) == 2, text[
        -3000:
    ]
    assert (
        "analyzer keeps crashing: it exited with code 1 after 2 restarts within 300s; stopping the stack"
        in text
    )
    assert text.rstrip().endswith("stopped"), text[-500:]


def test_make_run_restarts_a_killed_nats_and_its_children_die_with_it(
    drive: FakeDrive, tmp_path: Path
) -> None:
    env = stack_env(tmp_path, AIAT_DRIVE_ENDPOINT=drive.base_url)
    log_path = tmp_path / "stack.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "aiat_gateway.stack"], env=env, stdout=log, stderr=subprocess.STDOUT
        )
    pids: set[int] = set()
    try:
        base = f"http://127.0.0.1:{env['AIAT_HTTP_PORT']}"
        wait_ready(base, 180, alive=lambda: proc.poll() is None)
        pids |= set(children(proc.pid))
        (killed,) = [p for p, cmd in children(proc.pid).items() if "nats-server" in cmd]
        os.kill(killed, signal.SIGKILL)
        wait_until(
            "NATS to be restarted",
            lambda: re.search(rf"started nats \(pid (?!{killed}\b)\d+\)", log_path.read_text()) is not None,
            timeout=30,
        )
        assert f"nats (pid {killed}) was killed by SIGKILL; restarting it in" in log_path.read_text()
        wait_ready(base, 60, alive=lambda: proc.poll() is None)  # gateway and worker reconnected
        file_id = drive.new_id()
        drive.add_file(file_id, b"not a video", filename="Motion.mp4")
        body = {"name": "Motion", "module": "Physics", "drive_link": drive.share_link(file_id)}
        client = api_client(base)
        session_id = client.post("/api/v1/upload-session", json=body).json()["id"]
        status = f"/api/v1/jobs/{session_id}/status"
        wait_until(
            "the job to reach the worker through the restarted NATS",
            lambda: client.get(status).json()["job_status"] != "Pending",
            timeout=30,
        )

        pids |= set(children(proc.pid))
        proc.kill()  # no handler runs: only the kernel (PR_SET_PDEATHSIG) can take the children along
        proc.wait(10)
        wait_until("every child of the killed stack to die", lambda: not any(map(running, pids)), timeout=5)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(90)
        for pid in filter(running, pids):  # a failing run must not leak the stack's processes
            os.kill(pid, signal.SIGKILL)
