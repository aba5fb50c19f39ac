"""End to end in chromium: the studio against the real stack (every piece its own process) and a fake Drive."""

from __future__ import annotations

import base64
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from aiat.media import probe
from tests.fakes.fake_drive import FakeDrive
from tests.fixtures.media import counter_video, lecture_video
from tests.fixtures.stack import API_KEY, ProcessStack
from tests.studio.conftest import open_page

pytestmark = pytest.mark.e2e

LECTURE = (
    "Welcome to the lecture on motion. Today we talk about Newton's laws. "
    "The first law says a body keeps moving unless a force acts on it. "
    "The second law says force equals mass times acceleration. "
    "Now let us change topic and talk about energy. "
    "Energy is conserved in a closed system. Kinetic energy is one half m v squared. "
    "Potential energy depends on height. That is all for today, thank you."
)
FILE_ID = "1StudioLectureFileId_abcdefghijklmn"
ENV = {
    "AIAT_ANALYZER_ENGINE": "lexical",
    "AIAT_ANALYZER_MIN_SECONDS": "5",
    "AIAT_ANALYZER_MAX_SECONDS": "20",
    "AIAT_JOB_BACKOFF_SECONDS": "1",
}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ProcessStack, FakeDrive]]:
    """NATS, the three services, the worker and the gateway as processes, against a fake Drive."""
    tmp = tmp_path_factory.mktemp("studio-e2e")
    video = lecture_video(tmp / "lecture.mp4", LECTURE)
    with FakeDrive() as drive:
        drive.add_file(FILE_ID, video, filename="Physics lecture.mp4")
        stack = ProcessStack(tmp / "stack", {**ENV, "AIAT_DRIVE_ENDPOINT": drive.base_url})
        try:
            stack.start_all()
            yield stack, drive
        finally:
            stack.close()


def wait_js(page: Page, expression: str, timeout: float = 30.0) -> None:
    """Poll a JavaScript expression until true (wait_for_function would eval, which the page's CSP forbids)."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        assert time.monotonic() < deadline, f"timed out waiting for {expression}"
        time.sleep(0.05)


def plan_rows(page: Page) -> list[str]:
    """The plan list as the page shows it (name and times)."""
    return [t.strip() for t in page.locator(".snippet-list .pick").all_inner_texts()]


def test_lecturer_corrects_a_plan_and_renders_a_snippet(
    browser: Browser, stack: tuple[ProcessStack, FakeDrive], artifacts: Path, tmp_path: Path
) -> None:
    processes, drive = stack
    base = processes.base
    with open_page(browser) as (page, errors):
        # Sign in.
        page.goto(base + "/")
        page.get_by_label("API key").fill(API_KEY)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("heading", name="Sessions")).to_be_visible()

        # Upload: a malformed link is refused in the page, before any request.
        page.get_by_label("Name", exact=True).fill("Motion")
        page.get_by_label("Module (optional)").fill("Physics")
        page.get_by_label("Drive link", exact=True).fill("https://example.com/file/d/x/view")
        page.get_by_role("button", name="Start").click()
        expect(page.locator("#up-error")).to_have_text("This is not a Google Drive link")
        page.get_by_label("Drive link", exact=True).fill(drive.share_link(FILE_ID))
        page.get_by_role("button", name="Start").click()

        # Watch the statuses advance, no reload.
        row = page.locator("tr[data-id]").filter(has_text="Motion")
        seen: list[str] = []
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            status = row.get_attribute("data-status", timeout=5000) or ""
            if not seen or seen[-1] != status:
                seen.append(status)
                if status.startswith("Processing"):
                    page.screenshot(path=artifacts / f"sessions-{len(seen)}.png")
            if status in ("Finished", "Failed"):
                break
            time.sleep(0.1)
        assert seen[-1] == "Finished", (seen, processes.log_tail("worker"))
        assert any(s.startswith("Processing") for s in seen), seen
        page.screenshot(path=artifacts / "sessions-finished.png", full_page=True)

        # The same link again: the server's own message, as it is.
        page.get_by_label("Name", exact=True).fill("Motion again")
        page.get_by_label("Drive link", exact=True).fill(drive.share_link(FILE_ID))
        errors.allowed.append(re.compile(r"status of 400 \(Bad Request\)"))  # the answer this step provokes
        page.get_by_role("button", name="Start").click()
        expect(page.locator("#up-error")).to_contain_text("a session for this drive link already exists")
        errors.allowed.clear()

        # The session view.
        row.get_by_role("link", name="Motion").click()
        blocks = page.locator(".timeline .block")
        expect(blocks.first).to_be_visible()
        expect(page.locator(".transcript .line").first).to_be_visible()
        wait_js(page, "document.getElementById('lecture').readyState >= 1")
        page.screenshot(path=artifacts / "session.png", full_page=True)
        count = blocks.count()
        before = plan_rows(page)

        # Drag the first snippet's end to the left: it snaps to a sentence end, and the change shows as unsaved.
        handle = page.locator(".timeline .block").first.locator(".edge.end")
        box = handle.bounding_box()
        assert box
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.mouse.down()
        page.mouse.move(box["x"] - 150, box["y"] + box["height"] / 2, steps=5)
        page.mouse.up()
        expect(page.locator(".dirty")).to_have_text("Unsaved changes")
        assert plan_rows(page)[0] != before[0]

        # Split the first snippet at a playhead inside it, then merge the two halves again.
        page.locator(".snippet-list .pick").first.click()
        page.evaluate(
            """() => { const v = document.getElementById('lecture');
                 const [a, b] = document.querySelector('.editor .times').textContent.split('→');
                 const s = (t) => t.trim().split(' ')[0].split(':').reduce((x, y) => x * 60 + Number(y), 0);
                 v.currentTime = (s(a) + s(b)) / 2; }"""
        )
        wait_js(page, "!document.getElementById('lecture').seeking")
        page.get_by_role("button", name="Split at playhead").click()
        expect(blocks).to_have_count(count + 1)
        page.screenshot(path=artifacts / "session-split.png", full_page=True)
        page.locator(".snippet-list .pick").first.click()
        page.get_by_role("button", name="Merge with next").click()
        expect(blocks).to_have_count(count)
        page.get_by_label("Name", exact=True).fill("Newton's laws")

        # Save, reload: the saved plan comes back from the API.
        page.get_by_role("button", name="Save plan").click()
        expect(page.locator(".dirty")).to_have_text("All changes saved")
        saved = plan_rows(page)
        assert saved[0].startswith("Newton's laws")
        page.reload()
        expect(page.locator(".timeline .block")).to_have_count(count)
        assert plan_rows(page) == saved
        api_plan = processes.client().get(f"/api/v1/sessions/{page.url.rsplit('/', 1)[1]}/results").json()
        assert api_plan["snippets"][0]["name"] == "Newton's laws"
        assert all(s["origin"] == "manual" for s in api_plan["snippets"])
        # The dragged end snapped to a sentence boundary of the transcript.
        transcript = processes.client().get(f"/api/v1/sessions/{api_plan['id']}/transcript").json()
        bounds = {round(t, 3) for seg in transcript["segments"] for t in (seg["start"], seg["end"])}
        bounds |= {round(w["end"], 3) for seg in transcript["segments"] for w in seg["words"]}
        assert round(api_plan["snippets"][0]["end"], 3) in bounds, api_plan["snippets"][0]

        # Render it vertical with captions, watch the task, play the result, download mp4 and SRT.
        page.get_by_label("Format").select_option("vertical")
        page.get_by_label("Captions").check()
        page.get_by_role("button", name="Render selected").click()
        expect(page.locator(".tasks li[data-status=SUCCESS]")).to_have_count(1, timeout=90_000)
        result = page.locator("#result")
        expect(result).to_be_visible()
        wait_js(page, "document.getElementById('result').readyState >= 2")
        page.evaluate("document.getElementById('result').muted = true")
        page.evaluate("document.getElementById('result').play()")
        wait_js(page, "document.getElementById('result').currentTime > 0.2")
        page.screenshot(path=artifacts / "render.png", full_page=True)
        with page.expect_download() as mp4_download:
            page.get_by_role("link", name="Download mp4").click()
        mp4 = tmp_path / "snippet.mp4"
        mp4_download.value.save_as(mp4)
        assert mp4_download.value.suggested_filename.startswith("1)_Newton")
        info = probe(mp4)
        assert info.height > info.width, (info.width, info.height)  # vertical
        with page.expect_download() as srt_download:
            page.get_by_role("link", name="Download SRT").click()
        srt = tmp_path / "snippet.srt"
        srt_download.value.save_as(srt)
        assert re.search(r"\d\d:\d\d:\d\d,\d\d\d --> ", srt.read_text())

        # Transcript export.
        with page.expect_download() as vtt_download:
            page.get_by_role("button", name="VTT").click()
        vtt = tmp_path / "t.vtt"
        vtt_download.value.save_as(vtt)
        assert vtt.read_text().startswith("WEBVTT") and "newton" in vtt.read_text().lower()


def drop_file(page: Page, path: Path, mime: str = "video/mp4") -> None:
    """What a drag from the desktop delivers: a drop event whose DataTransfer holds the file."""
    transfer = page.evaluate_handle(
        """([name, type, b64]) => {
             const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
             const dt = new DataTransfer();
             dt.items.add(new File([bytes], name, { type }));
             return dt; }""",
        [path.name, mime, base64.b64encode(path.read_bytes()).decode()],
    )
    page.locator(".drop").dispatch_event("dragover", {"dataTransfer": transfer})
    page.locator(".drop").dispatch_event("drop", {"dataTransfer": transfer})


def test_a_lecture_file_is_uploaded_by_the_file_picker_or_a_drop(
    browser: Browser, stack: tuple[ProcessStack, FakeDrive], artifacts: Path, tmp_path: Path
) -> None:
    processes, _drive = stack
    video = counter_video(tmp_path / "dropped lecture.mp4", 2.0, width=320, height=180)
    other = counter_video(tmp_path / "second lecture.mp4", 2.5, width=320, height=180)
    with open_page(browser) as (page, errors):
        page.goto(processes.base + "/")
        page.get_by_label("API key").fill(API_KEY)
        page.get_by_role("button", name="Sign in").click()
        picker = page.locator("#up-file")
        expect(picker).to_be_attached()  # the schema lists POST /api/v1/upload-file

        # A file without a session name is held back in the page.
        picker.set_input_files(video)
        expect(page.locator("#up-error")).to_have_text("Give the session a name first")

        # The file picker (what a keyboard user reaches with Tab): uploaded with name and module, progress shown.
        page.get_by_label("Name", exact=True).fill("Picked lecture")
        page.get_by_label("Module (optional)").fill("Optics")
        picker.set_input_files(video)
        expect(page.locator("#up-state")).to_have_text(
            "Uploaded dropped lecture.mp4: session “Picked lecture” created"
        )
        expect(page.locator("#up-progress")).to_have_js_property("value", 100)
        picked = page.locator("tr[data-id]").filter(has_text="Picked lecture")
        expect(picked).to_contain_text("Optics")
        page.screenshot(path=artifacts / "picked.png", full_page=True)

        # A drop on the zone: the same, for another file.
        page.get_by_label("Name", exact=True).fill("Dropped lecture")
        drop_file(page, other)
        expect(page.locator("#up-state")).to_have_text(
            "Uploaded second lecture.mp4: session “Dropped lecture” created"
        )
        expect(page.locator("tr[data-id]").filter(has_text="Dropped lecture")).to_be_visible()
        sessions = processes.client().get("/api/v1/sessions", params={"q": "lecture"}).json()
        by_name = {s["name"]: s for s in sessions}
        assert by_name["Picked lecture"]["module"] == "Optics"
        assert by_name["Dropped lecture"]["module"] is None

        # The server's refusals, word for word: the same content again (400), and a file that is no video (415).
        errors.allowed.append(re.compile(r"status of 4\d\d \("))  # the answers these steps provoke
        page.get_by_label("Name", exact=True).fill("Dropped twice")
        drop_file(page, video)
        expect(page.locator("#up-error")).to_have_text(
            f"this file was already uploaded (session {by_name['Picked lecture']['id']})"
        )
        notes = tmp_path / "notes.mp4"
        notes.write_text("These are lecture notes, not a recording.\n" * 200)
        drop_file(page, notes)
        expect(page.locator("#up-error")).to_contain_text("the uploaded file is not a video")
        errors.allowed.clear()
        assert page.locator("tr[data-id]").filter(has_text="Dropped twice").count() == 0
        page.screenshot(path=artifacts / "refused.png", full_page=True)
