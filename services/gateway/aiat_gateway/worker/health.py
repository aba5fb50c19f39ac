"""An optional, tiny HTTP health endpoint for the worker (compose healthcheck, k8s probes).

`GET /healthz` answers 200 when every check passes, else 503; the JSON body names each check
(`{"status": "ok", "checks": {"nats": true, ...}}`) and nothing else. Anything but GET /healthz is 404.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable, Mapping

log = logging.getLogger(__name__)

Check = Callable[[], Awaitable[bool]]
READ_TIMEOUT = 5.0
CHECK_TIMEOUT = 3.0
_REASONS = {200: "OK", 404: "Not Found", 503: "Service Unavailable"}


class HealthServer:
    """Serves GET /healthz from named async checks (each bounded to 3 s; an error counts as down)."""

    def __init__(self, checks: Mapping[str, Check], host: str, port: int) -> None:
        self.checks = checks
        self.host = host
        self.port = port
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        """Listen on host:port (port 0 picks a free one, then stored in `port`)."""
        self._server = await asyncio.start_server(self._handle, self.host, self.port)
        self.port = int(self._server.sockets[0].getsockname()[1])
        log.info("worker health on http://%s:%d/healthz", self.host, self.port)

    async def close(self) -> None:
        """Stop listening."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def report(self) -> tuple[int, dict[str, object]]:
        """Run every check: (200 or 503, the JSON body)."""
        names = list(self.checks)
        results = await asyncio.gather(*(self._run(self.checks[n]) for n in names))
        checks = dict(zip(names, results, strict=True))
        ok = all(results)
        return (200 if ok else 503), {"status": "ok" if ok else "down", "checks": checks}

    @staticmethod
    async def _run(check: Check) -> bool:
        try:
            return bool(await asyncio.wait_for(check(), CHECK_TIMEOUT))
        except Exception:  # down, whatever the reason; the reason stays in the worker's own logs
            return False

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), READ_TIMEOUT)
            parts = head.split(b"\r\n", 1)[0].split()
            if len(parts) == 3 and parts[0] == b"GET" and parts[1].split(b"?")[0] == b"/healthz":
                status, body = await self.report()
            else:
                status, body = 404, {"status": "not found"}
            payload = json.dumps(body).encode()
            writer.write(
                f"HTTP/1.1 {status} {_REASONS[status]}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n".encode()
                + payload
            )
            await writer.drain()
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
