"""The `aiat` command line, run as the installed console script against the real stack (real processes)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from aiat.media import probe
from aiat.nats_server import NatsServer
from aiat.net import free_port
from tests.fixtures.media import lecture_video
from tests.fixtures.stack import API_KEY, AUTH_ENV, api_client, wait_ready

pytestmark = pytest.mark.e2e

AIAT = shutil.which("aiat", path=str(Path(sys.executable).parent))
TOPICS = (
    "Welcome to the lecture on motion. Newton's first law says a body keeps moving unless a force acts "
    "on it. The second law says force equals mass times acceleration. Now let us change topic and talk "
    "about energy. Energy is conserved in a closed system. Kinetic energy is one half m v squared."
)
# The EDITOR of `aiat plan --edit`: renames the first snippet and keeps the others (argv[2] = mode).
EDITOR = """
import sys, yaml
path, mode = sys.argv[2], sys.argv[1]
plan = yaml.safe_load(open(path))
if mode == "rename":
    plan["snippets"][0]["name"] = "Edited in the editor"
elif mode == "invalid":
    plan["snippets"][0]["end"] = -1
elif mode == "add":
    plan["snippets"].append({"name": "Added", "start": 0, "end": 5})
open(path, "w").write(yaml.safe_dump(plan))
"""


@dataclass
class Stack:
    base: str
    tmp: Path
    videos: list[Path]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """`make run`'s stack with API keys; Drive points at a server that accepts and never answers."""
    tmp = tmp_path_factory.mktemp("cli")
    videos = [
        lecture_video(tmp / "motion.mp4", TOPICS),
        lecture_video(tmp / "motion fast.mp4", TOPICS, words_per_minute=175),
    ]
    silent_drive = socket.socket()
    silent_drive.bind(("127.0.0.1", 0))
    silent_drive.listen(16)
    port = free_port()
    with NatsServer(tmp / "nats") as nats_server:
        env = {
            **os.environ,
            **AUTH_ENV,
            "AIAT_DATA_DIR": str(tmp / "data"),
            "AIAT_HTTP_PORT": str(port),
            "AIAT_NATS_URL": nats_server.url,
            "AIAT_DRIVE_ENDPOINT": f"http://127.0.0.1:{silent_drive.getsockname()[1]}",
            "AIAT_DRIVE_TIMEOUT_SECONDS": "600",
            "AIAT_ANALYZER_ENGINE": "lexical",
            "AIAT_ANALYZER_MIN_SECONDS": "5",
            "AIAT_ANALYZER_MAX_SECONDS": "20",
        }
        proc = subprocess.Popen([sys.executable, "-m", "aiat_gateway.stack"], env=env)
        base = f"http://127.0.0.1:{port}"
        try:
            wait_ready(base, 180, alive=lambda: proc.poll() is None)
            yield Stack(base, tmp, videos)
        finally:
            silent_drive.close()  # resets the held download, so the worker stops at once
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(90)
            except subprocess.TimeoutExpired:
                proc.kill()


def aiat(
    stack: Stack, *args: str, key: str | None = API_KEY, editor: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the installed `aiat` script; --json output is parsed by the caller."""
    assert AIAT is not None, "the aiat console script is not installed (pip install -e '.[cli]')"
    env = {**os.environ, "AIAT_URL": stack.base}
    env.pop("AIAT_API_KEY", None)
    if key is not None:
        env["AIAT_API_KEY"] = key
    if editor is not None:
        env["EDITOR"] = editor
        env.pop("VISUAL", None)
    return subprocess.run([AIAT, *args], env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def uploaded(stack: Stack) -> list[int]:
    """Both videos uploaded in one batch and watched until settled."""
    done = aiat(stack, "--json", "upload", *map(str, stack.videos), "--module", "Physics", "--wait")
    assert done.returncode == 0, done.stderr
    sessions = json.loads(done.stdout)["sessions"]
    assert [s["job_status"] for s in sessions] == ["Finished", "Finished"], sessions
    assert [s["name"] for s in sessions] == ["motion", "motion fast"]
    return [s["id"] for s in sessions]


def test_batch_upload_then_status_transcript_and_exit_codes(stack: Stack, uploaded: list[int]) -> None:
    first = uploaded[0]
    status = aiat(stack, "--json", "status", str(first))
    assert status.returncode == 0 and json.loads(status.stdout)["job_status"] == "Finished"
    listing = aiat(stack, "status")
    assert listing.returncode == 0 and "motion fast" in listing.stdout
    srt = aiat(stack, "transcript", str(first), "--format", "srt")
    assert srt.returncode == 0 and "-->" in srt.stdout and "energy" in srt.stdout.lower()
    # The same file again: the server's duplicate answer (naming the session), exit 1.
    again = aiat(stack, "--json", "upload", str(stack.videos[0]))
    assert again.returncode == 1 and f"session {first}" in json.loads(again.stdout)["errors"][0]["error"]
    assert aiat(stack, "upload", str(stack.tmp / "no-such-file.mp4")).returncode == 2
    assert aiat(stack, "status", "999999").returncode == 3
    assert aiat(stack, "status", str(first), key="wrong-key-0123456789abcdef").returncode == 4
    assert aiat(stack, "status", str(first), key=None).returncode == 4
    unreachable = aiat(stack, "--url", f"http://127.0.0.1:{free_port()}", "status", str(first))
    assert unreachable.returncode == 6 and "cannot reach" in unreachable.stderr


def test_plan_table_and_edit_in_the_editor(stack: Stack, uploaded: list[int]) -> None:
    sid = uploaded[0]
    client = api_client(stack.base)
    before = client.get(f"/api/v1/sessions/{sid}/results").json()["snippets"]
    table = aiat(stack, "plan", str(sid))
    assert table.returncode == 0 and before[0]["name"][:10] in table.stdout
    script = stack.tmp / "editor.py"
    script.write_text(EDITOR)
    edited = aiat(stack, "--json", "plan", str(sid), "--edit", editor=f"{sys.executable} {script} rename")
    assert edited.returncode == 0, edited.stderr
    after = client.get(f"/api/v1/sessions/{sid}/results").json()["snippets"]
    assert after[0]["name"] == "Edited in the editor" and after[0]["origin"] == "manual"
    assert [(s["start"], s["end"]) for s in after] == [(s["start"], s["end"]) for s in before]
    # Refused before any request: the plan stays as it was.
    bad = aiat(stack, "plan", str(sid), "--edit", editor=f"{sys.executable} {script} invalid")
    assert bad.returncode == 2 and "start < end" in bad.stderr
    assert client.get(f"/api/v1/sessions/{sid}/results").json()["snippets"] == after


def test_plan_edit_of_a_session_still_processing_shows_the_conflict(stack: Stack) -> None:
    client = api_client(stack.base)
    link = "https://drive.google.com/file/d/1NeverAnsweringFileId_abcdefgh/view"
    made = aiat(stack, "--json", "upload", link, "--name", "Held")
    assert made.returncode == 0, made.stderr
    sid = json.loads(made.stdout)["sessions"][0]["id"]
    assert client.get(f"/api/v1/jobs/{sid}/status").json()["job_status"] != "Finished"
    script = stack.tmp / "editor.py"
    script.write_text(EDITOR)
    conflict = aiat(stack, "plan", str(sid), "--edit", editor=f"{sys.executable} {script} add")
    assert conflict.returncode == 5, conflict.stderr
    assert "409" in conflict.stderr and "edit the plan once it has finished" in conflict.stderr


def test_render_vertical_and_download(stack: Stack, uploaded: list[int]) -> None:
    sid = uploaded[1]
    snippet = api_client(stack.base).get(f"/api/v1/sessions/{sid}/results").json()["snippets"][0]["id"]
    rendered = aiat(stack, "--json", "render", "--snippets", str(snippet), "--aspect", "vertical")
    assert rendered.returncode == 0, rendered.stderr
    (row,) = json.loads(rendered.stdout)
    assert row["status"] == "SUCCESS" and row["url"].endswith(f"/snippets/{snippet}/download")
    out = stack.tmp / "downloads"
    got = aiat(stack, "--json", "download", str(snippet), "-o", str(out))
    assert got.returncode == 0, got.stderr
    info = probe(Path(json.loads(got.stdout)[0]["path"]))
    assert info.height > info.width  # vertical
    assert aiat(stack, "download", "999999", "-o", str(out)).returncode == 3
    assert not list(out.glob("*.part"))
