"""`make run` signals a child's whole process group: what a child started (ffmpeg, a probe) dies with it."""

from __future__ import annotations

import os
import signal
import sys
import threading
from pathlib import Path

from aiat_gateway import stack as stack_module
from aiat_gateway.settings import GatewaySettings
from tests.fixtures.stack import wait_until

# A child that starts a long-lived grandchild of its own (as the renderer starts ffmpeg), records its pid.
PARENT = """
import subprocess, sys, time
g = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
open(sys.argv[1], "a").write(f"{g.pid}\\n")
time.sleep(120)
"""


def running(pid: int) -> bool:
    """True while the process exists and is not a zombie."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0] != "Z"
    except FileNotFoundError:
        return False


def grandchildren(path: Path) -> list[int]:
    """The grandchild pids recorded so far."""
    return [int(line) for line in path.read_text().split()] if path.exists() else []


def test_a_killed_child_and_a_stopped_stack_take_their_grandchildren_along(tmp_path: Path) -> None:
    pids = tmp_path / "grandchildren"
    settings = GatewaySettings(stack_restart_backoff_seconds=0.1)
    stack = stack_module.Stack(grace=5, settings=settings)
    child = stack_module.Child("renderer-like", [sys.executable, "-c", PARENT, str(pids)])
    stack.children = [child]
    watcher = threading.Thread(target=stack.watch)
    try:
        stack._spawn(child)
        wait_until("the grandchild to start", lambda: len(grandchildren(pids)) == 1, timeout=10)
        assert child.proc is not None
        child.proc.kill()  # as the OOM killer would; the grandchild is not its target
        watcher.start()
        wait_until("the restarted child's grandchild", lambda: len(grandchildren(pids)) == 2, timeout=10)
        first, second = grandchildren(pids)
        # SIGKILL is delivered asynchronously: allow the kernel a moment, far less than a leak lasts
        wait_until("the killed child's grandchild to be gone", lambda: not running(first), timeout=5)
        assert running(second)
        stack.request_stop()
        watcher.join(5)
        stack.stop()  # SIGTERM reaches only the child (it drains); its group is swept after it
        wait_until("every grandchild gone", lambda: not any(map(running, grandchildren(pids))), timeout=5)
    finally:  # a failing run must not leak its processes
        stack.request_stop()
        if watcher.is_alive():
            watcher.join(5)
        stack.stop()
        for pid in filter(running, grandchildren(pids)):
            os.kill(pid, signal.SIGKILL)


def test_background_processes_yield_the_cpu_to_the_api_by_default() -> None:
    # Reads at 100/s stay fast while the pipeline works only if the engines and the worker run nicest.
    stack = stack_module.Stack(grace=5, settings=GatewaySettings())
    assert {c.name: c.niceness for c in stack.children} == {
        "transcriber": 19,
        "analyzer": 19,
        "renderer": 19,
        "worker": 19,
        "gateway": 0,
    }


def test_engines_yield_the_cpu_to_the_api(tmp_path: Path) -> None:
    settings = GatewaySettings(stack_engine_niceness=7, stack_worker_niceness=0)
    stack = stack_module.Stack(grace=5, settings=settings)
    assert {c.name: c.niceness for c in stack.children} == {
        "transcriber": 7,
        "analyzer": 7,
        "renderer": 7,
        "worker": 0,
        "gateway": 0,
    }
    out = tmp_path / "nice"
    child = stack_module.Child(
        "engine-like",
        [sys.executable, "-c", f"import os; open({str(out)!r}, 'w').write(str(os.nice(0)))"],
        niceness=7,
    )
    stack._spawn(child)
    assert child.proc is not None and child.proc.wait(10) == 0
    assert int(out.read_text()) == os.nice(0) + 7
