"""Framing through REST: slide/speaker overrides validated, passed to a real render, and the regions shown."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

import av
import numpy as np
import pytest

from aiat.jobs.v1 import jobs_pb2
from aiat.media import ffmpeg_exe
from aiat.net import free_port
from aiat_gateway.db.models import RenderTask
from aiat_gateway.plans import PlanEntry
from aiat_gateway.worker.clients import ServiceClients
from aiat_gateway.worker.render import RenderRunner
from aiat_gateway.worker.state import WorkerDb
from tests.gateway import seed
from tests.gateway.conftest import Gateway
from tests.gateway.test_contract import finished_session, upload

SLIDE = {"x": 16, "y": 16, "w": 400, "h": 224}  # a red board on the left of a 640x360 frame
SPEAKER = {"x": 464, "y": 120, "w": 160, "h": 200}  # a blue figure on the right


def first_snippet(gw: Gateway) -> int:
    session = finished_session(gw)
    snippets = gw.client.get(f"/api/v1/sessions/{session['id']}/results").json()["snippets"]
    return int(snippets[0]["id"])


@pytest.mark.parametrize(
    "region",
    [
        {**SLIDE, "x": -1},
        {**SLIDE, "w": 0},
        {**SLIDE, "h": -5},
        {**SLIDE, "w": 16_385},
        {**SLIDE, "y": 10**30},
        {**SLIDE, "x": 1.5},
        {**SLIDE, "x": "16"},
        {**SLIDE, "w": True},
        {**SLIDE, "w": None},
        {"x": 0, "y": 0, "w": 10},
        {**SLIDE, "z": 1},
        [0, 0, 10, 10],
        "0,0,10,10",
    ],
)
def test_bad_regions_are_422_and_start_no_render(gateway: Gateway, region: object) -> None:
    snippet_id = first_snippet(gateway)
    for field in ("slide", "speaker"):
        resp = gateway.client.post(f"/api/v1/snippets/{snippet_id}/process", json={field: region})
        assert resp.status_code == 422, resp.text
        assert field in resp.json()["detail"]
    with gateway.state.session_factory() as db:
        assert db.query(RenderTask).count() == 0


def test_regions_are_kept_with_the_task(gateway: Gateway) -> None:
    snippet_id = first_snippet(gateway)
    body = {"layout": "stack", "slide": SLIDE, "speaker": SPEAKER}
    resp = gateway.client.post(f"/api/v1/snippets/{snippet_id}/process", json=body)
    assert resp.status_code == 200, resp.text
    task = gateway.client.get(f"/api/v1/snippets/tasks/{resp.json()['task_id']}").json()
    assert task["framing"] is None  # known once rendered
    with gateway.state.session_factory() as db:
        row = db.get(RenderTask, resp.json()["task_id"])
        assert row is not None and '"slide": {"h": 224, "w": 400, "x": 16, "y": 16}' in row.options_json


def board_video(path: str) -> None:
    """One second of 640x360 grey with a red board (SLIDE) and a blue figure (SPEAKER); nothing moves."""
    s, p = SLIDE, SPEAKER
    graph = (
        f"color=c=gray:s=640x360:r=25:d=1,"
        f"drawbox=x={s['x']}:y={s['y']}:w={s['w']}:h={s['h']}:color=red:t=fill,"
        f"drawbox=x={p['x']}:y={p['y']}:w={p['w']}:h={p['h']}:color=blue:t=fill"
    )
    subprocess.run(
        [ffmpeg_exe(), "-loglevel", "error", "-y", "-f", "lavfi", "-i", graph,
         "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", path],
        check=True,
    )  # fmt: skip


def colour_rows(frame: np.ndarray, colour: tuple[int, int, int]) -> np.ndarray:
    """Rows at least 95 % of whose pixels are near `colour`."""
    near = (np.abs(frame.astype(int) - np.array(colour)).max(axis=2) < 60).mean(axis=1)
    return np.nonzero(near >= 0.95)[0]


def render_with_a_real_renderer(gw: Gateway, task_id: str) -> None:
    """Run the task as the worker does, against the renderer started as its own process.

    Its own process: ffmpeg is forked there, never beside this process's gRPC threads.
    """
    port = free_port()
    env = {**os.environ, "AIAT_DATA_DIR": str(gw.settings.data_dir), "AIAT_RENDERER_PORT": str(port),
           "AIAT_RENDERER_X264_PRESET": "ultrafast"}  # fmt: skip
    with (gw.settings.data_dir / "renderer.log").open("wb") as log:
        renderer = subprocess.Popen(
            [sys.executable, "-m", "aiat_renderer.server"], env=env, stdout=log, stderr=log
        )

        async def run() -> None:
            closed = f"127.0.0.1:{free_port()}"
            clients = ServiceClients(closed, closed, f"127.0.0.1:{port}", ready_wait=180)  # a busy CI
            try:
                runner = RenderRunner(
                    WorkerDb(gw.state.session_factory), gw.state.store, clients, gw.settings
                )
                await runner.run(jobs_pb2.RenderJob(task_id=task_id), 1)
            finally:
                await clients.close()

        try:
            asyncio.run(run())
        finally:
            renderer.terminate()
            renderer.wait(30)


def test_a_real_render_honours_the_regions_and_reports_them(gateway: Gateway) -> None:
    gw = gateway
    session = upload(gw, 7)
    seed.finish(gw.state, session["id"], [PlanEntry("Board", 0.0, 1.0)], duration=1.0)
    store = gw.state.store
    board_video(str(store.resolve(f"{store.session_dir(session['id'])}/lecture.mp4")))
    snippet_id = gw.client.get(f"/api/v1/sessions/{session['id']}/results").json()["snippets"][0]["id"]
    body = {"aspect": "vertical", "layout": "stack", "captions": False, "intro": False,
            "slide": SLIDE, "speaker": SPEAKER}  # fmt: skip
    task_id = gw.client.post(f"/api/v1/snippets/{snippet_id}/process", json=body).json()["task_id"]

    render_with_a_real_renderer(gw, task_id)

    task = gw.client.get(f"/api/v1/snippets/tasks/{task_id}").json()
    assert task["status"] == "SUCCESS", task
    framing = {"layout": "stack", "slide": SLIDE, "speaker": SPEAKER}
    assert task["framing"] == framing
    assert gw.client.get(f"/api/v1/snippets/{snippet_id}").json()["framing"] == framing
    results = gw.client.get(f"/api/v1/sessions/{session['id']}/results").json()
    assert results["snippets"][0]["framing"] == framing

    link = gw.client.get(f"/api/v1/snippets/{snippet_id}").json()["storage_link"]
    with av.open(str(store.resolve(f"{store.output_dir(session['id'])}/{link}"))) as container:
        frame = next(container.decode(video=0)).to_ndarray(format="rgb24")
    red = colour_rows(frame, (255, 0, 0))
    # The board fills the width (stacked), not 400/640 of it (the whole frame fitted); the figure is below it.
    assert len(red) >= 0.9 * 1080 * 224 / 400, len(red)
    blue = np.abs(frame.astype(int) - np.array((0, 0, 255))).max(axis=2) < 60
    assert blue[red.max() + 1 :].sum() >= 0.2 * 1080 * 0.12 * 1920 and not blue[: red.min()].any()
