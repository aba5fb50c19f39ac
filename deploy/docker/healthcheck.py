#!/usr/bin/env python
"""Container healthchecks without extra tools: `grpc ADDR SERVICE`, `http URL` or `tcp HOST:PORT ...`.

Exit status 0 when healthy, 1 otherwise (docker compose `healthcheck`, the image's aiat-healthcheck).
"""

from __future__ import annotations

import socket
import sys
import urllib.request
from collections.abc import Callable


def grpc_serving(addr: str, service: str) -> bool:
    """The standard gRPC health service reports SERVING for `service`."""
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    with grpc.insecure_channel(addr) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        reply = stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
    return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)


def http_ok(url: str) -> bool:
    """GET `url` answers 2xx."""
    with urllib.request.urlopen(url, timeout=5) as response:
        return 200 <= int(response.status) < 300


def tcp_open(*targets: str) -> bool:
    """Each HOST:PORT accepts a connection."""
    for target in targets:
        host, _, port = target.rpartition(":")
        with socket.create_connection((host, int(port)), timeout=5):
            pass
    return True


def main(argv: list[str]) -> int:
    checks: dict[str, Callable[..., bool]] = {"grpc": grpc_serving, "http": http_ok, "tcp": tcp_open}
    if len(argv) < 2 or argv[0] not in checks:
        print("usage: aiat-healthcheck grpc ADDR SERVICE | http URL | tcp HOST:PORT...", file=sys.stderr)
        return 2
    try:
        healthy = checks[argv[0]](*argv[1:])
    except Exception as exc:
        print(f"unhealthy: {exc}", file=sys.stderr)
        return 1
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
