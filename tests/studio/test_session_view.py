"""The studio in chromium against a real gateway (uvicorn) and database: sign-in, a 3 h lecture, keyboard."""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from aiat.media import ffmpeg_exe
from aiat.nats_server import NatsServer
from aiat_gateway.api.app import create_app
from aiat_gateway.db.migrate import upgrade
from aiat_gateway.db.models import LectureSession, Snippet, Status
from tests.gateway.conftest import make_settings
from tests.studio.conftest import open_page, serve

KEY = "studio-browser-key-0123456789abcdef"
HOURS3 = 3 * 3600.0
SEGMENTS = 2700  # one every 4 s
SNIPPETS = 60


def transcript() -> dict[str, object]:
    """A synthetic 3 h transcript: sentences of four words, each ending with a full stop."""
    segments = []
    for i in range(SEGMENTS):
        start = i * 4.0
        words = [
            {
                "start": start + k,
                "end": start + k + 0.9,
                "text": f" w{i}x{k}" + ("." if k == 3 else ""),
                "probability": 1,
            }
            for k in range(4)
        ]
        text = "".join(w["text"] for w in words)  # type: ignore[misc]
        segments.append({"id": i, "start": start, "end": start + 3.9, "text": text, "words": words})
    return {"language": "en", "duration": HOURS3, "segments": segments}


@pytest.fixture(scope="module")
def studio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    """A gateway with keys on serving a Finished 3 h session with 60 snippets."""
    tmp = tmp_path_factory.mktemp("studio")
    url = f"sqlite:///{(tmp / 'aiat.db').as_posix()}"
    upgrade(url)
    with NatsServer(tmp / "nats") as nats:
        app = create_app(make_settings(tmp, url, nats.url, api_keys=KEY))
        state = app.state.aiat
        with state.session_factory() as db:
            row = LectureSession(
                name="Three hours",
                module="Endurance",
                drive_link="https://drive.google.com/file/d/y",
                drive_file_id="y" * 30,
                job_status=Status.FINISHED,
                job_id="j",
                media_duration=HOURS3,
                language="en",
            )
            db.add(row)
            db.flush()
            source = state.store.root / "sessions" / str(row.id) / "source"
            source.mkdir(parents=True)
            subprocess.run(
                [
                    ffmpeg_exe(),
                    "-v",
                    "error",
                    "-f",
                    "lavfi",
                    "-i",
                    "testsrc=size=160x90:rate=25",
                    "-t",
                    "4",
                    "-pix_fmt",
                    "yuv420p",
                    str(source / "lecture.mp4"),
                ],
                check=True,
            )
            (source / "transcript.json").write_text(json.dumps(transcript()))
            row.media_path = state.store.relative(source / "lecture.mp4")
            row.transcript_path = state.store.relative(source / "transcript.json")
            step = HOURS3 / SNIPPETS
            for n in range(SNIPPETS):
                start, end = n * step + 8, n * step + 120
                db.add(
                    Snippet(
                        session_id=row.id,
                        position=n + 1,
                        name=f"Part {n + 1}",
                        summary=f"About part {n + 1}",
                        start=start,
                        end=end,
                        start_second=int(start),
                        end_second=int(end),
                        score=0.5 + n / 200,
                        reason=f"Topic {n + 1} starts here",
                        origin="analyzer",
                    )
                )
            db.commit()
            session_id = row.id
        with serve(app) as base:
            yield base, session_id


def sign_in(page: object, base: str, key: str) -> None:
    """Open the studio and sign in."""
    page.goto(base + "/")  # type: ignore[attr-defined]
    page.get_by_label("API key").fill(key)  # type: ignore[attr-defined]
    page.get_by_role("button", name="Sign in").click()  # type: ignore[attr-defined]


def test_sign_in_keeps_the_key_for_the_tab_and_says_when_it_is_wrong(
    browser: Browser, studio: tuple[str, int], artifacts: Path
) -> None:
    base, _ = studio
    with open_page(browser) as (page, errors):
        errors.allowed.append(re.compile("status of 401"))  # the wrong key's answer
        sign_in(page, base, "not-the-key-0123456789")
        expect(page.get_by_role("alert")).to_have_text("That key was not accepted. Check it and try again.")
        page.screenshot(path=artifacts / "sign-in-wrong-key.png")
        errors.allowed.clear()
        page.get_by_label("API key").fill(KEY)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("heading", name="Sessions")).to_be_visible()
        assert page.evaluate("sessionStorage.getItem('aiat.apiKey')") == KEY
        assert page.context.cookies() == []  # header auth only
        page.reload()
        expect(page.get_by_role("link", name="Three hours")).to_be_visible()  # same tab: still signed in
        page.screenshot(path=artifacts / "sessions.png", full_page=True)
    with open_page(browser) as (page, _):
        page.goto(base + "/")
        expect(page.get_by_label("API key")).to_be_visible()  # another tab asks again


def test_a_3_hour_lecture_with_60_snippets_opens_fast_and_renders_only_visible_lines(
    browser: Browser, studio: tuple[str, int], artifacts: Path
) -> None:
    base, sid = studio
    with open_page(browser) as (page, _):
        sign_in(page, base, KEY)
        expect(page.get_by_role("heading", name="Sessions")).to_be_visible()
        started = time.monotonic()
        page.goto(f"{base}/#/sessions/{sid}")
        expect(page.locator(".timeline .block")).to_have_count(SNIPPETS)
        expect(page.locator(".transcript .line").first).to_be_visible()
        opened = time.monotonic() - started
        assert opened < 3.0, f"the session view took {opened:.2f} s"
        lines = page.locator(".transcript .line").count()
        assert 0 < lines < 60, f"{lines} transcript rows in the DOM for {SEGMENTS} segments"
        # Scrolling to the end of three hours stays cheap: still a window of rows, and the right ones.
        frame_ms = page.evaluate(
            """async () => {
                const v = document.querySelector('.transcript-viewport');
                const times = [];
                for (let i = 0; i < 30; i++) {
                    const t0 = performance.now();
                    v.scrollTop = (v.scrollHeight * i) / 30;
                    await new Promise(requestAnimationFrame);
                    times.push(performance.now() - t0);
                }
                return Math.max(...times);
            }"""
        )
        assert frame_ms < 200, f"a scroll frame took {frame_ms:.0f} ms"
        page.screenshot(path=artifacts / "session-3h.png", full_page=True)
        # Search inside the transcript, click a line: the video seeks there.
        page.get_by_label("Search", exact=True).last.fill("w2000x1")
        expect(page.locator(".transcript .line")).to_have_count(1)
        page.locator(".transcript .line").click()
        # The seek asked for 8004 s; the 4 s test video clamps it to its end.
        assert page.evaluate("document.getElementById('lecture').currentTime") > 3.9


def test_phone_width_stacks_the_session_view(
    browser: Browser, studio: tuple[str, int], artifacts: Path
) -> None:
    base, sid = studio
    with open_page(browser, width=390, height=844) as (page, _):
        sign_in(page, base, KEY)
        expect(page.get_by_role("heading", name="Sessions")).to_be_visible()
        page.goto(f"{base}/#/sessions/{sid}")
        expect(page.locator(".timeline .block")).to_have_count(SNIPPETS)
        video = page.locator("#lecture").bounding_box()
        transcript = page.locator(".col-side").bounding_box()
        assert video and transcript and transcript["y"] > video["y"] + video["height"]  # below, not beside
        assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing wider than the phone
        page.screenshot(path=artifacts / "session-phone.png", full_page=True)
