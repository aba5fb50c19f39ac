"""The session view in chromium: a save that conflicts with another tab's, and the keyboard alone."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from aiat.media import ffmpeg_exe
from aiat.nats_server import NatsServer
from aiat_gateway.api.app import create_app
from aiat_gateway.db.migrate import upgrade
from aiat_gateway.db.models import LectureSession, Snippet, Status
from tests.gateway.conftest import make_settings
from tests.studio.conftest import open_page, serve

DURATION = 20.0
FRAME = 1 / 25
# (start, end) of the three snippets; sentences end every 4 s at 4k + 3.9, the next starts at 4k + 4.
PLAN = [(0.5, 6.0), (8.0, 14.0), (16.0, 19.5)]


def transcript() -> dict[str, object]:
    """Five sentences of four words over the 20 s video."""
    segments = []
    for i in range(5):
        start = i * 4.0
        words = [
            {"start": start + k, "end": start + k + 0.9, "text": f" w{i}x{k}" + ("." if k == 3 else "")}
            for k in range(4)
        ]
        text = "".join(str(w["text"]) for w in words)
        segments.append({"id": i, "start": start, "end": start + 3.9, "text": text, "words": words})
    return {"language": "en", "duration": DURATION, "segments": segments}


@pytest.fixture(scope="module")
def studio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, list[int]]]:
    """A gateway without keys serving two Finished 20 s sessions of three snippets each."""
    tmp = tmp_path_factory.mktemp("plan-editing")
    url = f"sqlite:///{(tmp / 'aiat.db').as_posix()}"
    upgrade(url)
    video = tmp / "lecture.mp4"
    args = ["-f", "lavfi", "-i", "testsrc=size=160x90:rate=25", "-t", str(DURATION), "-g", "25"]
    subprocess.run([ffmpeg_exe(), "-v", "error", *args, "-pix_fmt", "yuv420p", str(video)], check=True)
    with NatsServer(tmp / "nats") as nats:
        app = create_app(make_settings(tmp, url, nats.url))
        state = app.state.aiat
        ids = []
        with state.session_factory() as db:
            for n in range(2):
                row = LectureSession(
                    name=f"Editing {n}",
                    module="Keys",
                    drive_link=f"https://drive.google.com/file/d/edit{n}",
                    drive_file_id=f"edit{n}" * 6,
                    job_status=Status.FINISHED,
                    job_id=f"j{n}",
                    media_duration=DURATION,
                    language="en",
                    plan_version=1,
                )
                db.add(row)
                db.flush()
                source = state.store.root / "sessions" / str(row.id) / "source"
                source.mkdir(parents=True)
                shutil.copy(video, source / "lecture.mp4")
                (source / "transcript.json").write_text(json.dumps(transcript()))
                row.media_path = state.store.relative(source / "lecture.mp4")
                row.transcript_path = state.store.relative(source / "transcript.json")
                for k, (start, end) in enumerate(PLAN, 1):
                    db.add(
                        Snippet(
                            session_id=row.id,
                            position=k,
                            name=f"Part {k}",
                            summary="",
                            start=start,
                            end=end,
                            start_second=int(start),
                            end_second=int(end + 0.999),
                            origin="analyzer",
                        )
                    )
                ids.append(row.id)
            db.commit()
        with serve(app) as base:
            yield base, ids


def open_session(page: Page, base: str, sid: int) -> None:
    """The session view, its video ready to seek."""
    page.goto(f"{base}/#/sessions/{sid}")
    expect(page.locator(".timeline .block")).to_have_count(len(PLAN))
    page.locator("#lecture").evaluate(
        "v => v.readyState >= 1 || new Promise(r => v.addEventListener('loadedmetadata', r))"
    )


def rename_selected(page: Page, name: str) -> None:
    page.locator("#snippet-name").fill(name)
    expect(page.locator(".dirty")).to_have_text("Unsaved changes")


def saved_names(base: str, sid: int) -> list[str]:
    return [s["name"] for s in httpx.get(f"{base}/api/v1/sessions/{sid}/results").json()["snippets"]]


def test_a_save_over_another_tabs_save_is_shown_and_the_edits_are_kept(
    browser: Browser, studio: tuple[str, list[int]], artifacts: Path
) -> None:
    base, (sid, _) = studio
    with open_page(browser) as (tab_a, errors_a), open_page(browser) as (tab_b, errors_b):
        open_session(tab_a, base, sid)
        open_session(tab_b, base, sid)
        rename_selected(tab_a, "Named in tab A")
        tab_a.locator("#save").click()
        expect(tab_a.locator(".dirty")).to_have_text("All changes saved")

        errors_b.allowed.append(re.compile("status of 409"))  # the conflict's answer, shown in the page
        rename_selected(tab_b, "Named in tab B")
        tab_b.locator("#save").click()
        conflict = tab_b.locator(".conflict")
        expect(conflict).to_be_visible()
        expect(conflict).to_contain_text("the plan changed meanwhile")
        expect(conflict).to_contain_text("Your changes are still here")
        expect(tab_b.locator("#snippet-name")).to_have_value("Named in tab B")
        expect(tab_b.locator(".dirty")).to_have_text("Unsaved changes")
        tab_b.screenshot(path=artifacts / "plan-conflict.png", full_page=True)
        assert saved_names(base, sid)[0] == "Named in tab A"  # nothing of B's was written

        # Load the saved plan: A's name, nothing unsaved; an edit on it saves.
        tab_b.get_by_role("button", name="Load the saved plan (discard mine)").click()
        expect(conflict).to_be_hidden()
        expect(tab_b.locator("#snippet-name")).to_have_value("Named in tab A")
        expect(tab_b.locator(".dirty")).to_have_text("All changes saved")
        rename_selected(tab_b, "Then B")
        tab_b.locator("#save").click()
        expect(tab_b.locator(".dirty")).to_have_text("All changes saved")
        assert saved_names(base, sid)[0] == "Then B"

        # Now A is behind B's save: it may choose to save its edit over it.
        errors_a.allowed.append(re.compile("status of 409"))
        rename_selected(tab_a, "A again")
        tab_a.locator("#save").click()
        expect(tab_a.locator(".conflict")).to_be_visible()
        tab_a.get_by_role("button", name="Save mine over it").click()
        expect(tab_a.locator(".conflict")).to_be_hidden()
        expect(tab_a.locator(".dirty")).to_have_text("All changes saved")
        assert saved_names(base, sid)[0] == "A again"


def test_the_keyboard_alone_plays_seeks_and_sets_in_and_out_with_visible_focus(
    browser: Browser, studio: tuple[str, list[int]], artifacts: Path
) -> None:
    base, (_, sid) = studio
    with open_page(browser) as (page, _):
        open_session(page, base, sid)
        video = page.locator("#lecture")

        def now() -> float:
            return float(video.evaluate("v => v.currentTime"))

        def paused() -> bool:
            return bool(video.evaluate("v => v.paused"))

        # Tab to the second snippet in the list and pick it with Enter: focus stays on it, visibly.
        for _ in range(60):
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement.dataset.focus") == "pick-1":
                break
        else:
            pytest.fail("Tab never reached the second snippet of the list")
        page.keyboard.press("Enter")
        expect(page.locator(".editor h2")).to_have_text("Snippet 2 of 3")
        focus = page.evaluate(
            """() => { const e = document.activeElement, s = getComputedStyle(e);
                return {key: e.dataset.focus, visible: e.matches(':focus-visible'), style: s.outlineStyle,
                        width: parseFloat(s.outlineWidth)}; }"""
        )
        assert focus == {"key": "pick-1", "visible": True, "style": "solid", "width": 3}, focus
        page.screenshot(path=artifacts / "keyboard-focus.png")
        assert abs(now() - PLAN[1][0]) < 1e-3  # picking a snippet seeks to its start

        # Space plays and pauses (focus on the page, not on a button Space would press).
        page.evaluate("document.activeElement.blur()")
        page.keyboard.press(" ")
        expect(video).to_have_js_property("paused", False)
        page.keyboard.press(" ")
        expect(video).to_have_js_property("paused", True)

        # L plays, again doubles the speed; K pauses; J pauses and goes back 5 s.
        page.keyboard.press("l")
        expect(video).to_have_js_property("paused", False)
        assert video.evaluate("v => v.playbackRate") == 1
        page.keyboard.press("l")
        assert video.evaluate("v => v.playbackRate") == 2
        page.keyboard.press("k")
        expect(video).to_have_js_property("paused", True)
        video.evaluate("v => { v.currentTime = 12; }")
        page.keyboard.press("l")
        page.keyboard.press("j")
        assert paused()
        assert 6.9 < now() < 7.5, now()

        # Arrows: one frame; with Shift, the next or previous sentence boundary of the transcript.
        video.evaluate("v => { v.currentTime = 10; }")
        page.keyboard.press("ArrowRight")
        assert abs(now() - (10 + FRAME)) < 1e-3, now()
        page.keyboard.press("ArrowLeft")
        page.keyboard.press("ArrowLeft")
        assert abs(now() - (10 - FRAME)) < 1e-3, now()
        page.keyboard.press("Shift+ArrowRight")
        assert abs(now() - 11.9) < 1e-3, now()  # the end of the sentence 8-11.9
        page.keyboard.press("Shift+ArrowRight")
        assert abs(now() - 12.0) < 1e-3, now()  # the start of the next
        page.keyboard.press("Shift+ArrowLeft")
        page.keyboard.press("Shift+ArrowLeft")
        assert abs(now() - 8.0) < 1e-3, now()

        # I and O set the selected snippet's in and out at the playhead.
        video.evaluate("v => { v.currentTime = 9; }")
        page.keyboard.press("i")
        video.evaluate("v => { v.currentTime = 13; }")
        page.keyboard.press("o")
        expect(page.locator(".editor .times")).to_have_text("0:09.0 → 0:13.0 (4 s)")
        expect(page.locator(".dirty")).to_have_text("Unsaved changes")
        # Typing in a field is typing, not a shortcut.
        page.locator("#snippet-name").press("i")
        expect(page.locator(".editor .times")).to_have_text("0:09.0 → 0:13.0 (4 s)")
        page.locator("#save").click()
        expect(page.locator(".dirty")).to_have_text("All changes saved")
        saved = httpx.get(f"{base}/api/v1/sessions/{sid}/results").json()["snippets"][1]
        assert (saved["start"], saved["end"]) == (9.0, 13.0)
