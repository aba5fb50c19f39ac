"""`make run`: the whole system on one machine — NATS, the three gRPC services, the worker, the gateway."""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field

from sqlalchemy.engine import make_url

from aiat.nats_server import NatsServer
from aiat.net import free_port, wait_for_port
from aiat.settings import configure_logging
from aiat_gateway.api.auth import AccessConfigError, access_from_settings, open_warning
from aiat_gateway.db.migrate import upgrade
from aiat_gateway.settings import GatewaySettings

log = logging.getLogger("aiat.stack")

SERVICES = ("transcriber", "analyzer", "renderer")
PR_SET_PDEATHSIG = 1
_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform == "linux" else None


@dataclass
class Child:
    """One supervised process."""

    name: str
    argv: list[str]
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    restarts: list[float] = field(default_factory=list)  # monotonic times of its restarts
    restart_at: float | None = None  # set while it waits out its backoff
    quiet: bool = False  # its output is dropped (nats-server)
    niceness: int = 0  # added to its scheduling niceness (the engines yield the CPU to the API)


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


def die_with_parent(parent: int) -> None:
    """In the forked child, before exec: the kernel SIGKILLs it when the stack dies, even by SIGKILL (Linux)."""
    if _LIBC is None:
        return
    _LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the stack died before prctl took effect
        os._exit(1)


def child_setup(parent: int, niceness: int) -> None:
    """In the forked child, before exec: die with the stack, and lower its CPU priority by `niceness`."""
    die_with_parent(parent)
    if niceness:
        os.nice(niceness)


def children(engine_niceness: int = 0, worker_niceness: int = 0) -> list[Child]:
    """The processes of the stack, in start order (the gateway last, so it opens to a ready system)."""
    py = sys.executable
    return [
        Child("transcriber", [py, "-m", "aiat_transcriber.server"], niceness=engine_niceness),
        Child("analyzer", [py, "-m", "aiat_analyzer.server"], niceness=engine_niceness),
        Child("renderer", [py, "-m", "aiat_renderer.server"], niceness=engine_niceness),
        Child("worker", [py, "-m", "aiat_gateway.worker.main"], niceness=worker_niceness),
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
        self.children = children(settings.stack_engine_niceness, settings.stack_worker_niceness)
        self._stopping = False

    def start(self) -> None:
        """Start NATS (unless AIAT_NATS_URL is set), migrate the DB, then start every child."""
        env = dict(os.environ)
        settings = GatewaySettings()
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        env["AIAT_DATA_DIR"] = str(settings.data_dir.resolve())
        if "AIAT_NATS_URL" not in env:
            # Supervised like the others; a restart keeps the port and store dir, so clients reconnect
            # and JetStream finds its stream and pending jobs again.
            nats = NatsServer(settings.data_dir.resolve() / "nats")
            self.children.insert(0, Child("nats", nats.argv(), quiet=True))
            self._spawn(self.children[0])
            wait_for_port(nats.host, nats.port, 15.0)
            env["AIAT_NATS_URL"] = nats.url
            log.info("NATS with JetStream at %s", nats.url)
        env = service_env(env)
        upgrade(settings.sqlalchemy_url)
        log.info("database ready at %s", masked_url(settings.database_url))
        self.env = env
        for child in self.children:
            if child.proc is None:
                self._spawn(child)
        log.info(
            "AIAT Snippets API at http://%s:%d/api/v1 (Ctrl-C stops everything)",
            settings.http_host,
            settings.http_port,
        )
        if warning := open_warning(settings):
            log.warning("%s", warning)

    def _spawn(self, child: Child) -> None:
        # Its own process group, so its own children (ffmpeg, probes) are signalled with it.
        out = subprocess.DEVNULL if child.quiet else None
        parent = os.getpid()
        child.proc = subprocess.Popen(
            child.argv,
            env=self.env or None,
            stdout=out,
            stderr=out,
            start_new_session=True,
            preexec_fn=lambda: child_setup(parent, child.niceness),
        )
        log.info("started %s (pid %d)", child.name, child.proc.pid)

    @staticmethod
    def _signal_group(child: Child, sig: signal.Signals) -> None:
        """Send `sig` to the child's whole process group (it and whatever it started that is left)."""
        if child.proc is not None:
            try:
                os.killpg(child.proc.pid, sig)
            except ProcessLookupError:  # nothing of the group is left
                pass

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
                self._signal_group(child, signal.SIGKILL)  # what it started must not outlive it
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
        nats = [c for c in self.children if c.name == "nats"]
        self._stop([c for c in reversed(self.children) if c.name != "nats"])
        self._stop(nats)
        log.info("stopped")

    def _stop(self, group: list[Child]) -> None:
        """SIGTERM each child (it drains its own work), wait up to the grace period, then SIGKILL each group."""
        for child in group:
            if child.proc is not None and child.proc.poll() is None:
                child.proc.terminate()
        deadline = time.monotonic() + self.grace
        for child in group:
            if child.proc is None:
                continue
            try:
                child.proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("%s did not stop within %.0fs; killing it", child.name, self.grace)
            self._signal_group(child, signal.SIGKILL)  # it, if still running, and anything it left behind
            child.proc.wait()


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
