"""The session's slides in the studio (chromium, real gateway, keys on): thumbnails load, a click seeks."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from aiat.media import ffmpeg_exe
from aiat.nats_server import NatsServer
from aiat_gateway.api.app import create_app
from aiat_gateway.db.migrate import upgrade
from aiat_gateway.db.models import LectureSession, Snippet, Status
from aiat_gateway.slides import SlideEntry, replace_slides
from tests.gateway.conftest import make_settings
from tests.studio.conftest import open_page, serve
from tests.studio.test_plan_editing import transcript
from tests.studio.test_session_view import sign_in

KEY = "studio-slides-key-0123456789abcdef"
DURATION = 20.0
SLIDES = [
    SlideEntry(0.0, "Forces", "slide-001.jpg"),
    SlideEntry(7.0, ""),
    SlideEntry(12.5, "Energy", "slide-003.jpg"),
]


def ffmpeg(*args: str) -> None:
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", *args], check=True)


@pytest.fixture(scope="module")
def studio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    """A Finished 20 s session with one snippet and three slides, two of them with thumbnails."""
    tmp = tmp_path_factory.mktemp("slides")
    url = f"sqlite:///{(tmp / 'aiat.db').as_posix()}"
    upgrade(url)
    with NatsServer(tmp / "nats") as nats:
        app = create_app(make_settings(tmp, url, nats.url, api_keys=KEY))
        state = app.state.aiat
        with state.session_factory.begin() as db:
            row = LectureSession(
                name="With slides",
                drive_link="https://drive.google.com/file/d/slides",
                drive_file_id="slides" * 5,
                job_status=Status.FINISHED,
                job_id="j",
                media_duration=DURATION,
                language="en",
            )
            db.add(row)
            db.flush()
            source = state.store.root / "sessions" / str(row.id) / "source"
            source.mkdir(parents=True)
            lavfi = ["-f", "lavfi", "-i", "testsrc=size=160x90:rate=25"]
            ffmpeg(
                *lavfi, "-t", str(DURATION), "-g", "25", "-pix_fmt", "yuv420p", str(source / "lecture.mp4")
            )
            (source / "transcript.json").write_text(json.dumps(transcript()))
            row.media_path = state.store.relative(source / "lecture.mp4")
            row.transcript_path = state.store.relative(source / "transcript.json")
            db.add(
                Snippet(
                    session_id=row.id,
                    position=1,
                    name="Whole",
                    start=0.5,
                    end=19.5,
                    start_second=0,
                    end_second=20,
                    origin="analyzer",
                )
            )
            thumbs = state.store.root / "output" / str(row.id) / "slides"
            thumbs.mkdir(parents=True)
            for name in ("slide-001.jpg", "slide-003.jpg"):
                ffmpeg(*lavfi, "-frames:v", "1", str(thumbs / name))
            replace_slides(db, row.id, SLIDES)
            session_id = row.id
        with serve(app) as base:
            yield base, session_id


def test_slides_show_beside_the_plan_and_a_click_moves_the_playhead(
    browser: Browser, studio: tuple[str, int], artifacts: Path
) -> None:
    """Three slides with times and titles; thumbnails load through signed URLs; a click seeks the video there."""
    base, sid = studio
    with open_page(browser) as (page, _errors):
        sign_in(page, base, KEY)
        page.goto(f"{base}/#/sessions/{sid}")
        slides = page.locator(".slide")
        expect(slides).to_have_count(3)
        expect(page.locator("#slides-title")).to_have_text("Slides (3)")
        expect(slides.nth(0)).to_contain_text("0:00")
        expect(slides.nth(0)).to_contain_text("Forces")
        expect(slides.nth(1)).to_contain_text("Untitled")
        expect(slides.nth(2)).to_contain_text("0:12")
        expect(page.locator(".slide-ticks .tick")).to_have_count(3)
        images = page.locator(".slide img")
        expect(images).to_have_count(2)
        for k in range(2):  # decoded: the signed URL let the <img> in without a key
            images.nth(k).scroll_into_view_if_needed()
            page.wait_for_function(
                "img => img.complete && img.naturalWidth > 0", arg=images.nth(k).element_handle()
            )
        page.locator("#lecture").evaluate(
            "v => v.readyState >= 1 || new Promise(r => v.addEventListener('loadedmetadata', r))"
        )
        page.get_by_role("button", name="Slide 3 at 0:12: Energy").click()
        page.wait_for_function("() => Math.abs(document.querySelector('#lecture').currentTime - 12.5) < 0.05")
        expect(slides.nth(2)).to_have_class("slide active")
        page.locator(
            "#set-out"
        ).click()  # the slide's start becomes the snippet's end (snapped to a sentence)
        expect(page.locator(".dirty")).to_have_text("Unsaved changes")
        page.screenshot(path=artifacts / "slides.png", full_page=True)
