"""Browser fixtures: Debian's chromium driven by Playwright, pages that fail on console errors."""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI
from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright

from aiat.net import free_port

CHROMIUM = "/usr/bin/chromium"  # `make sysdeps` installs it; Playwright never downloads a browser here
ARGS = [
    "--no-sandbox",
    "--headless=new",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "var" / "test-artifacts" / "studio"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One headless chromium for the module."""
    assert os.access(CHROMIUM, os.X_OK), "chromium is missing: run `make sysdeps`"
    with sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield instance
        instance.close()


class ConsoleErrors(list[str]):
    """Console errors and uncaught exceptions of a page; `allow` names messages a step expects."""

    def __init__(self) -> None:
        super().__init__()
        self.allowed: list[re.Pattern[str]] = []

    def on_console(self, msg: ConsoleMessage) -> None:
        """Record an error unless a step expects it."""
        if msg.type == "error" and not any(p.search(msg.text) for p in self.allowed):
            self.append(f"console: {msg.text} ({msg.location.get('url')})")


@pytest.fixture
def artifacts(request: pytest.FixtureRequest) -> Path:
    """Where this test's screenshots go (var/ is git-ignored)."""
    path = ARTIFACTS / re.sub(r"[^\w.-]+", "_", request.node.name)
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextmanager
def open_page(browser: Browser, width: int = 1400, height: int = 900) -> Iterator[tuple[Page, ConsoleErrors]]:
    """A fresh tab (its own sessionStorage); the test fails on any console error it logged."""
    context = browser.new_context(viewport={"width": width, "height": height}, accept_downloads=True)
    page = context.new_page()
    errors = ConsoleErrors()
    page.on("console", errors.on_console)
    page.on("pageerror", lambda exc: errors.append(f"uncaught: {exc}"))
    try:
        yield page, errors
        assert not errors, errors
    finally:
        context.close()


@contextmanager
def serve(app: FastAPI) -> Iterator[str]:
    """The app on a real HTTP server (uvicorn in a thread) on a free loopback port."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the test server did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
