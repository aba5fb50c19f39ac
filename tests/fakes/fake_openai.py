"""A small OpenAI-compatible HTTP server on loopback that stands in for `vllm serve` (no GPU here)."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# A reply: (HTTP status, body object or raw text).
Reply = tuple[int, Any]
Responder = Callable[[dict[str, Any]], Reply]


def completion(content: str, finish_reason: str = "stop") -> dict[str, Any]:
    """A chat.completion object with one choice."""
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "model": "fake",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": finish_reason}
        ],
    }


def labels_from_prompt(body: dict[str, Any]) -> str:
    """A valid answer for the request: one entry per segment, named after its first keywords."""
    schema = body["response_format"]["json_schema"]["schema"]
    n = schema["properties"]["segments"]["minItems"]
    user = body["messages"][1]["content"]
    blocks = re.findall(r"^\[(\d+)\].*?\nkeywords: (.*)$", user, flags=re.MULTILINE)
    keywords = {int(i): kw.split(", ") for i, kw in blocks}
    entries = []
    for i in range(1, n + 1):
        words = keywords.get(i, ["topic"])
        entry: dict[str, Any] = {
            "id": i,
            "name": " and ".join(words[:2]).capitalize(),
            "summary": f"How {words[0]} works.",
            "keep": True,
            "score": 7,
        }
        if "same_topic" in schema["properties"]["segments"]["items"]["properties"]:
            entry["same_topic"] = False
        entries.append(entry)
    return json.dumps({"segments": entries})


def placement_from_prompt(body: dict[str, Any]) -> str:
    """A valid boundary-placement answer: every cut kept at the position marked current."""
    user = body["messages"][1]["content"]
    current = re.findall(r"^  (\d+)\. at \S+ \(current\)", user, flags=re.MULTILINE)
    cuts = [{"id": i, "position": int(n), "keep": True} for i, n in enumerate(current, start=1)]
    return json.dumps({"cuts": cuts})


def answer_from_prompt(body: dict[str, Any]) -> str:
    """A valid answer to a labelling or a boundary-placement request, told apart by the schema."""
    schema = body["response_format"]["json_schema"]["schema"]
    if "cuts" in schema["properties"]:
        return placement_from_prompt(body)
    return labels_from_prompt(body)


@dataclass
class FakeOpenAI:
    """Records every request; answers chat completions with the queued replies, then with `default`."""

    models: list[str]
    default: Responder = field(default=lambda body: (200, completion(answer_from_prompt(body))))
    queue: list[Responder] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def hold_next(self) -> tuple[threading.Event, threading.Event]:
        """Park the next chat completion until released; returns (held, release) events.

        `held` is set once the request arrived; setting `release` answers it with `default`.
        """
        held, release = threading.Event(), threading.Event()

        def parked(body: dict[str, Any]) -> Reply:
            held.set()
            release.wait(120)
            return self.default(body)

        with self.lock:
            self.queue.append(parked)
        return held, release

    def answer(self, path: str, body: dict[str, Any] | None) -> Reply:
        """The reply for one request."""
        if path == "/v1/models":
            return 200, {"object": "list", "data": [{"id": m, "object": "model"} for m in self.models]}
        if path != "/v1/chat/completions" or body is None:
            return 404, {"error": {"message": f"no route {path}"}}
        with self.lock:
            self.requests.append(body)
            responder = self.queue.pop(0) if self.queue else self.default
        return responder(body)


@contextmanager
def fake_openai_server(models: list[str]) -> Iterator[FakeOpenAI]:
    """Serve a FakeOpenAI on 127.0.0.1 at a free port for the duration of the block."""
    fake = FakeOpenAI(models=models)

    class Handler(BaseHTTPRequestHandler):
        def _reply(self, body: dict[str, Any] | None) -> None:
            status, payload = fake.answer(self.path, body)
            data = payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            self._reply(None)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            self._reply(json.loads(self.rfile.read(length) or b"{}"))

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    fake.url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
