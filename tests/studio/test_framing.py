"""The render panel in chromium: a rendered snippet's layout and regions shown, corrected and sent with a re-render."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from aiat.media import ffmpeg_exe
from aiat.nats_server import NatsServer
from aiat_gateway.api.app import create_app
from aiat_gateway.api.deps import AppState
from aiat_gateway.db.migrate import upgrade
from aiat_gateway.db.models import LectureSession, RenderTask, Snippet, Status
from tests.gateway.conftest import make_settings
from tests.studio.conftest import open_page, serve

FRAMING = {
    "layout": "stack",
    "slide": {"x": 0, "y": 0, "w": 120, "h": 68},
    "speaker": {"x": 120, "y": 40, "w": 40, "h": 50},
}


@pytest.fixture(scope="module")
def studio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int, AppState]]:
    """A gateway without keys serving a Finished session whose one snippet was rendered as FRAMING."""
    tmp = tmp_path_factory.mktemp("framing")
    url = f"sqlite:///{(tmp / 'aiat.db').as_posix()}"
    upgrade(url)
    video = tmp / "lecture.mp4"
    args = ["-f", "lavfi", "-i", "testsrc=size=160x90:rate=25", "-t", "4", "-g", "25"]
    subprocess.run([ffmpeg_exe(), "-v", "error", *args, "-pix_fmt", "yuv420p", str(video)], check=True)
    with NatsServer(tmp / "nats") as nats:
        app = create_app(make_settings(tmp, url, nats.url))
        state = app.state.aiat
        with state.session_factory() as db:
            row = LectureSession(
                name="Framing", module="Slides", drive_link="https://drive.google.com/file/d/framing",
                drive_file_id="framing" * 5, job_status=Status.FINISHED, job_id="j", media_duration=4.0,
                language="en", plan_version=1,
            )  # fmt: skip
            db.add(row)
            db.flush()
            source = state.store.root / "sessions" / str(row.id) / "source"
            source.mkdir(parents=True)
            shutil.copy(video, source / "lecture.mp4")
            (source / "transcript.json").write_text(
                json.dumps({"language": "en", "duration": 4.0, "segments": []})
            )
            row.media_path = state.store.relative(source / "lecture.mp4")
            row.transcript_path = state.store.relative(source / "transcript.json")
            output = state.store.resolve(state.store.output_dir(row.id))
            output.mkdir(parents=True)
            shutil.copy(video, output / "01_part.mp4")
            db.add(
                Snippet(
                    session_id=row.id, position=1, name="Part", summary="", start=0.5, end=3.5, start_second=0,
                    end_second=4, origin="analyzer", storage_link="01_part.mp4", framing=FRAMING,
                )
            )  # fmt: skip
            db.commit()
            session_id = row.id
        with serve(app) as base:
            yield base, session_id, state


def test_the_regions_a_render_used_are_shown_and_a_correction_is_sent(
    browser: Browser, studio: tuple[str, int, AppState], artifacts: Path
) -> None:
    base, session_id, state = studio
    with open_page(browser) as (page, _errors):
        page.goto(f"{base}/#/sessions/{session_id}")
        expect(page.locator("#framing")).to_have_text(
            "Rendered as stack · slide 0, 0, 120×68 · speaker 120, 40, 40×50"
        )
        values = [page.locator(f"#region-speaker-{k}").input_value() for k in "xywh"]
        assert values == ["120", "40", "40", "50"]
        # The person moves the speaker box and widens it, asks for fit, and renders again.
        page.locator("#render-layout").select_option("fit")
        page.locator("#render-regions").check()
        page.locator("#region-speaker-x").fill("100")
        page.locator("#region-speaker-w").fill("60")
        with page.expect_request(lambda r: r.url.endswith("/process") and r.method == "POST") as sent:
            page.locator("#render-one").click()
        body = sent.value.post_data_json
        assert body is not None
        assert body["layout"] == "fit"
        assert body["slide"] == FRAMING["slide"]
        assert body["speaker"] == {"x": 100, "y": 40, "w": 60, "h": 50}
        expect(page.locator(".tasks li")).to_have_attribute("data-status", "PENDING")
        page.screenshot(path=artifacts / "framing.png", full_page=True)
    with state.session_factory() as db:
        task = db.query(RenderTask).one()
        options = json.loads(task.options_json)
    assert options["speaker"] == {"x": 100, "y": 40, "w": 60, "h": 50} and options["layout"] == "fit"
