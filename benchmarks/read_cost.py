"""The gateway's CPU per read: `aiat-gateway serve` on embedded PostgreSQL, 100 sessions, sequential reads.

Run: `python -m benchmarks.read_cost [--reads 1000]`. Times GET /api/v1/sessions?limit=100 and
GET /api/v1/jobs/{id}/status over one keep-alive connection and prints the gateway process's user + system
CPU per request (its own cost, whatever else the machine runs) and the wall time per request.
"""

from __future__ import annotations

import argparse
import http.client
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil

from aiat.nats_server import NatsServer
from aiat.net import free_port
from aiat_gateway.db.migrate import upgrade
from aiat_gateway.settings import GatewaySettings
from benchmarks.load import postgres

KEY = "read-cost-benchmark-key-0123456789"
PATHS = ("/api/v1/sessions?limit=100", "/api/v1/jobs/50/status")


def main() -> None:
    """Start a gateway with 100 sessions and time each read."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reads", type=int, default=1000, help="requests per endpoint")
    args = parser.parse_args()
    headers = {"Authorization": f"Bearer {KEY}"}
    with tempfile.TemporaryDirectory(prefix="aiat-read-cost-") as tmp_dir, postgres() as (db_url, _pid):
        tmp = Path(tmp_dir)
        upgrade(GatewaySettings(database_url=db_url).sqlalchemy_url)
        port = free_port()
        with NatsServer(tmp / "nats") as nats:
            env = {k: v for k, v in os.environ.items() if not k.startswith("AIAT_")}
            env |= {
                "AIAT_DATA_DIR": str(tmp / "data"),
                "AIAT_DATABASE_URL": db_url,
                "AIAT_NATS_URL": nats.url,
                "AIAT_HTTP_PORT": str(port),
                "AIAT_API_KEYS": KEY,
                "AIAT_RATE_LIMIT": "",
                "AIAT_LOG_LEVEL": "WARNING",
            }
            proc = subprocess.Popen([sys.executable, "-m", "aiat_gateway.main", "serve"], env=env)
            try:
                base = f"http://127.0.0.1:{port}"
                deadline = time.monotonic() + 60
                while True:
                    try:
                        if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                            break
                    except httpx.HTTPError:
                        pass
                    if time.monotonic() > deadline:
                        raise RuntimeError("the gateway did not start in 60 s")
                    time.sleep(0.1)
                with httpx.Client(base_url=base, headers=headers, timeout=10) as client:
                    for n in range(100):
                        link = f"https://drive.google.com/file/d/1ReadCost{n:04d}_abcdefghijklmnopqrst/view"
                        client.post("/api/v1/upload-session", json={"name": f"L{n}", "drive_link": link})
                gateway = psutil.Process(proc.pid)
                conn = http.client.HTTPConnection("127.0.0.1", port)
                print(f"load average (1 min): {os.getloadavg()[0]:.1f}")
                for path in PATHS:
                    for _ in range(50):  # warm up
                        conn.request("GET", path, headers=headers)
                        conn.getresponse().read()
                    cpu = gateway.cpu_times()
                    wall = time.perf_counter()
                    for _ in range(args.reads):
                        conn.request("GET", path, headers=headers)
                        response = conn.getresponse()
                        response.read()
                        if response.status != 200:
                            raise RuntimeError(f"{path} answered {response.status}")
                    wall = time.perf_counter() - wall
                    after = gateway.cpu_times()
                    used = after.user + after.system - cpu.user - cpu.system
                    print(
                        f"{path:<30} gateway CPU {used * 1000 / args.reads:.2f} ms/request, "
                        f"wall {wall * 1000 / args.reads:.2f} ms/request"
                    )
            finally:
                proc.terminate()
                proc.wait(30)


if __name__ == "__main__":
    main()
