"""`make demo` as a real process: Ctrl-C while the pipeline runs stops everything it started."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from aiat.net import free_port

pytestmark = pytest.mark.e2e


def processes() -> dict[int, tuple[int, int, str]]:
    """Every process: pid -> (parent pid, session id, start time), from /proc/<pid>/stat."""
    out: dict[int, tuple[int, int, str]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:  # exited meanwhile
            continue
        fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) "
        if fields[0] == "Z":
            continue
        out[int(entry)] = (int(fields[1]), int(fields[3]), fields[19])
    return out


def descendants(root: int) -> dict[int, tuple[int, int, str]]:
    """`root`'s children, their children and so on, as they are now."""
    table = processes()
    found: dict[int, tuple[int, int, str]] = {}
    frontier = [root]
    while frontier:
        parent = frontier.pop()
        for pid, info in table.items():
            if info[0] == parent and pid not in found:
                found[pid] = info
                frontier.append(pid)
    return found


def test_ctrl_c_twice_during_processing_stops_the_stack_and_every_child(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIAT_")}
    demo = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "aiat_cli.demo",
            "--root",
            str(tmp_path),
            "--port",
            str(port),
            "--sample",
            "tiny",
        ],
        env={**env, "COLUMNS": "200"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(demo.stderr or ()), daemon=True)
    reader.start()
    base = f"http://127.0.0.1:{port}"
    try:
        # Wait for the uploaded sample to be in the pipeline (the lecture is about 19 s long).
        deadline = time.monotonic() + 90
        status = ""
        while not status.startswith("Processing"):
            assert demo.poll() is None, "".join(lines)
            assert time.monotonic() < deadline, ("the demo never got to processing", status, "".join(lines))
            try:
                sessions = httpx.get(f"{base}/api/v1/sessions", timeout=5).json()
                status = sessions[0]["job_status"] if sessions else ""
            except (httpx.HTTPError, ValueError, KeyError):
                pass
            time.sleep(0.2)
        started = descendants(demo.pid)
        sessions_started = {info[1] for info in started.values()} - {os.getsid(0)}
        assert len(started) >= 6, started  # the stack, NATS, gateway, worker and the three engines

        t0 = time.monotonic()
        demo.send_signal(signal.SIGINT)
        time.sleep(1.0)
        demo.send_signal(signal.SIGINT)  # an impatient second Ctrl-C while the stack stops
        code = demo.wait(60)
        took = time.monotonic() - t0
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()
    reader.join(5)
    output = "".join(lines)
    assert code == 130, (code, output)
    assert "stopping the stack" in output and "stack stopped" in output, output
    assert "interrupted before the demo finished" in output, output
    assert "Traceback" not in output, output

    # Nothing the demo started is alive: not the same processes, not anything in their sessions.
    now = processes()
    left = {pid: info for pid, info in now.items() if pid in started and started[pid][2] == info[2]}
    left |= {pid: info for pid, info in now.items() if info[1] in sessions_started}
    assert not left, {
        pid: Path(f"/proc/{pid}/cmdline").read_bytes() for pid in left if Path(f"/proc/{pid}").exists()
    }
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"{base}/healthz", timeout=2)
    print(f"stopped in {took:.1f} s")
