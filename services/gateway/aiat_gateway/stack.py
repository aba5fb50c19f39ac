"""`make run`: the whole system on one machine — NATS, the three gRPC services, the worker, the gateway."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field

from sqlalchemy.engine import make_url

from aiat.nats_server import NatsServer
from aiat.net import free_port
from aiat.settings import configure_logging
from aiat_gateway.api.auth import AccessConfigError, access_from_settings, open_warning
from aiat_gateway.db.migrate import upgrade
from aiat_gateway.settings import GatewaySettings

log = logging.getLogger("aiat.stack")

SERVICES = ("transcriber", "analyzer", "renderer")


@dataclass
class Child:
    """One supervised process."""

    name: str
    argv: list[str]
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    restarts: list[float] = field(default_factory=list)  # monotonic times of its restarts
    restart_at: float | None = None  # set while it waits out its backoff


def masked_url(url: str) -> str:
    """A database URL fit for a log: the password replaced by ***."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # an unparsable URL is logged by its scheme only
        return url.split(":", 1)[0] + "://…"


def service_env(base: dict[str, str]) -> dict[str, str]:
    """Env for every child: service addresses on free ports unless the operator set them."""
    env = dict(base)
    for name in SERVICES:
        addr_key, port_key = f"AIAT_{name.upper()}_ADDR", f"AIAT_{name.upper()}_PORT"
        if addr_key not in env:
            port = env.get(port_key) or str(free_port())
            env[port_key] = port
            env[addr_key] = f"127.0.0.1:{port}"
    return env


def children() -> list[Child]:
    """The processes of the stack, in start order (the gateway last, so it opens to a ready system)."""
    py = sys.executable
    return [
        Child("transcriber", [py, "-m", "aiat_transcriber.server"]),
        Child("analyzer", [py, "-m", "aiat_analyzer.server"]),
        Child("renderer", [py, "-m", "aiat_renderer.server"]),
        Child("worker", [py, "-m", "aiat_gateway.worker.main"]),
        Child("gateway", [py, "-m", "aiat_gateway.main", "serve"]),
    ]


def exit_reason(code: int) -> str:
    """How a child ended, for the log: a signal by name (SIGKILL is what the OOM killer sends)."""
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with code {code}"


class Stack:
    """Starts the children and, as Kubernetes would, restarts any that dies with backoff; a crash loop stops all."""

    def __init__(self, grace: float = 30.0, settings: GatewaySettings | None = None) -> None:
        settings = settings or GatewaySettings()
        self.grace = grace
        self.backoff = settings.stack_restart_backoff_seconds
        self.backoff_cap = settings.stack_restart_backoff_max_seconds
        self.max_restarts = settings.stack_max_restarts
        self.window = settings.stack_restart_window_seconds
        self.env: dict[str, str] = {}
        self.nats: NatsServer | None = None
        self.children = children()
        self._stopping = False

    def start(self) -> None:
        """Start NATS (unless AIAT_NATS_URL is set), migrate the DB, then start every child."""
        env = dict(os.environ)
        settings = GatewaySettings()
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        env["AIAT_DATA_DIR"] = str(settings.data_dir.resolve())
        if "AIAT_NATS_URL" not in env:
            self.nats = NatsServer(settings.data_dir.resolve() / "nats").start()
            env["AIAT_NATS_URL"] = self.nats.url
            log.info("NATS with JetStream at %s", self.nats.url)
        env = service_env(env)
        upgrade(settings.sqlalchemy_url)
        log.info("database ready at %s", masked_url(settings.database_url))
        self.env = env
        for child in self.children:
            self._spawn(child)
        log.info(
            "AIAT Snippets API at http://%s:%d/api/v1 (Ctrl-C stops everything)",
            settings.http_host,
            settings.http_port,
        )
        if warning := open_warning(settings):
            log.warning("%s", warning)

    def _spawn(self, child: Child) -> None:
        child.proc = subprocess.Popen(child.argv, env=self.env)
        log.info("started %s (pid %d)", child.name, child.proc.pid)

    def watch(self) -> int:
        """Restart children that die until a signal (exit code 0) or a crash loop (exit code 1)."""
        while not self._stopping:
            now = time.monotonic()
            for child in self.children:
                if child.restart_at is not None:
                    if now >= child.restart_at:
                        child.restart_at = None
                        child.restarts.append(now)
                        self._spawn(child)
                    continue
                if child.proc is None or child.proc.poll() is None:
                    continue
                reason = exit_reason(child.proc.returncode)
                child.restarts = [t for t in child.restarts if now - t < self.window]
                if len(child.restarts) >= self.max_restarts:
                    log.error(
                        "%s keeps crashing: it %s after %d restarts within %.0fs; stopping the stack",
                        child.name, reason, len(child.restarts), self.window,
                    )  # fmt: skip
                    return 1
                delay = min(self.backoff_cap, self.backoff * 2 ** len(child.restarts))
                log.error("%s (pid %d) %s; restarting it in %.1fs", child.name, child.proc.pid, reason, delay)
                child.restart_at = now + delay
            time.sleep(0.2)
        return 0

    def request_stop(self, *_args: object) -> None:
        """Signal handler: leave watch()."""
        self._stopping = True

    def stop(self) -> None:
        """SIGTERM every child (gateway first), wait up to the grace period, then kill; stop NATS last."""
        for child in reversed(self.children):
            if child.proc is not None and child.proc.poll() is None:
                child.proc.terminate()
        deadline = time.monotonic() + self.grace
        for child in reversed(self.children):
            if child.proc is None:
                continue
            try:
                child.proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("%s did not stop within %.0fs; killing it", child.name, self.grace)
                child.proc.kill()
                child.proc.wait()
        if self.nats is not None:
            self.nats.stop()
        log.info("stopped")


def main() -> None:
    """Entry point of `aiat-stack` (`make run`)."""
    settings = GatewaySettings()
    configure_logging(settings.log_level)
    try:
        access_from_settings(
            settings
        )  # the gateway child would refuse too, but only after everything started
    except AccessConfigError as exc:
        print(f"aiat-stack: {exc}", file=sys.stderr)
        sys.exit(2)
    stack = Stack()
    signal.signal(signal.SIGTERM, stack.request_stop)
    signal.signal(signal.SIGINT, stack.request_stop)
    code = 1
    try:
        stack.start()
        code = stack.watch()
    finally:
        stack.stop()
    sys.exit(code)


if __name__ == "__main__":
    main()
