"""The output disk fills up mid-render: the task fails saying so, the snippet keeps its earlier file."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.checks import names
from tests.faults.conftest import Faults
from tests.faults.test_services import finished, rendering
from tests.fixtures.stack import wait_task

pytestmark = pytest.mark.e2e

FILLER = "filler"
LEFT_FREE = 64 << 10  # far less than a rendered snippet


@pytest.fixture
def output_disk(faults: Faults) -> Iterator[tuple[int, Path]]:
    """A finished session whose output directory is a 64 MiB tmpfs of its own."""
    session_id = finished(faults)
    directory = faults.stack.media / "output" / str(session_id) / "snippets"
    directory.mkdir(parents=True, exist_ok=True)
    mount = ["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(directory)]
    subprocess.run(mount, check=True, capture_output=True)
    try:
        yield session_id, directory
    finally:
        subprocess.run(["umount", "-l", str(directory)], check=False, capture_output=True)


def fill(directory: Path) -> None:
    """Leave only LEFT_FREE bytes free on the directory's filesystem."""
    stat = os.statvfs(directory)
    (directory / FILLER).write_bytes(b"\0" * (stat.f_bavail * stat.f_frsize - LEFT_FREE))


def test_disk_full_fails_the_render_task_clearly_and_keeps_the_earlier_file(
    faults: Faults, output_disk: tuple[int, Path]
) -> None:
    client = faults.client
    session_id, directory = output_disk
    snippet_id, task_id = rendering(faults, session_id)
    assert wait_task(client, task_id, timeout=120)["status"] == "SUCCESS"
    before = {name: (directory / name).read_bytes() for name in names(directory)}
    assert len(before) == 2, before  # the snippet's .mp4 and .srt

    fill(directory)
    again = client.post(f"/api/v1/snippets/{snippet_id}/process")
    assert again.status_code == 200, again.text
    task = wait_task(client, again.json()["task_id"], timeout=120)
    assert task["status"] == "FAILURE", task
    attempts = faults.stack.scalar(
        "SELECT attempts FROM render_tasks WHERE task_id = :id", id=task["task_id"]
    )
    assert task["error"] == (
        "renderer: the server ran out of disk space while rendering the snippet (RESOURCE_EXHAUSTED)"
        f" (gave up after {attempts} attempts)"
    ), task
    assert names(directory) == sorted([*before, FILLER])  # no partial or private file
    assert {name: (directory / name).read_bytes() for name in before} == before
