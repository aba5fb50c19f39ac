"""`python -m aiat_analyzer.server` as a real process: SERVING, then exit 0 on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time

from aiat.grpc_service import check_health


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_server_process_serves_and_drains_on_sigterm() -> None:
    """The server reaches SERVING and exits cleanly on SIGTERM."""
    port = _free_port()
    env = {**os.environ, "AIAT_ANALYZER_PORT": str(port), "AIAT_ANALYZER_GRACE_SECONDS": "2"}
    proc = subprocess.Popen([sys.executable, "-m", "aiat_analyzer.server"], env=env)
    try:
        deadline = time.monotonic() + 60
        status = ""
        while time.monotonic() < deadline and status != "SERVING":
            assert proc.poll() is None, "server exited early"
            status = asyncio.run(check_health(f"127.0.0.1:{port}", "aiat.analyzer.v1.AnalyzerService"))
            time.sleep(0.2)
        assert status == "SERVING"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
