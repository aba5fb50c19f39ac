"""`aiat`: upload lectures, watch them, read and edit plans, render and download snippets — over REST only."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
import yaml
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from aiat_cli.client import (
    API,
    API_ERROR,
    DEFAULT_URL,
    NOT_FOUND,
    USAGE,
    ApiError,
    Client,
)

app = typer.Typer(
    name="aiat",
    help="AIAT Snippets from the terminal: a client of the REST API (--url / AIAT_URL, key from AIAT_API_KEY).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console()
err = Console(stderr=True)

STAGES = (
    ("Processing: Downloading", "download"),
    ("Processing: Transcribing", "transcribe"),
    ("Processing: Analyzing", "analyze"),
)
SETTLED = ("Finished", "Failed")
TASK_DONE = ("SUCCESS", "FAILURE")


class Aspect(StrEnum):
    """Output frame of a render."""

    vertical = "vertical"
    landscape = "landscape"
    square = "square"


class Format(StrEnum):
    """Transcript formats of the API."""

    json = "json"
    srt = "srt"
    vtt = "vtt"
    txt = "txt"


@dataclass
class Ctx:
    """Options shared by every command."""

    client: Client
    json: bool


def _ctx(ctx: typer.Context) -> Ctx:
    obj: Ctx = ctx.obj
    return obj


def fail(message: str, code: int) -> NoReturn:
    """Print an error on stderr and exit with `code`."""
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def emit(data: Any) -> None:
    """One JSON document on stdout (--json)."""
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


@app.callback()
def main(
    ctx: typer.Context,
    url: Annotated[str, typer.Option(envvar="AIAT_URL", help="Gateway base URL")] = DEFAULT_URL,
    json_output: Annotated[bool, typer.Option("--json", help="Machine-readable JSON on stdout")] = False,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for each HTTP answer")] = 120.0,
) -> None:
    """Global options."""
    ctx.obj = Ctx(Client(url, timeout=timeout), json_output)
    ctx.call_on_close(ctx.obj.client.close)


def run(call: Any, *args: Any, **kwargs: Any) -> Any:
    """Call the API; an ApiError ends the command with its exit code."""
    try:
        return call(*args, **kwargs)
    except ApiError as exc:
        fail(str(exc), exc.exit_code)


def clock(seconds: float) -> str:
    """m:ss.s (or h:mm:ss) for a time in the lecture."""
    m, s = divmod(max(0.0, seconds), 60)
    h, m = divmod(int(m), 60)
    return f"{h}:{m:02d}:{s:04.1f}" if h else f"{m}:{s:04.1f}"


# --- upload -------------------------------------------------------------------------------------------


@app.command()
def upload(
    ctx: typer.Context,
    targets: Annotated[list[str], typer.Argument(help="Google Drive links or video files, several at once")],
    name: Annotated[str | None, typer.Option(help="Session name (default: the file name)")] = None,
    module: Annotated[str | None, typer.Option(help="Module or course")] = None,
    wait: Annotated[bool, typer.Option("--wait", help="Watch the sessions until they settle")] = False,
) -> None:
    """Upload lectures: each TARGET is a file on disk (sent to /upload-file) or a Drive link."""
    c = _ctx(ctx)
    created: list[dict[str, Any]] = []
    failures: list[dict[str, Any]] = []
    code = 0
    for n, target in enumerate(targets, 1):
        path = Path(target)
        title = name or (path.stem if path.is_file() else f"Lecture {n}")
        if len(targets) > 1 and name:
            title = f"{name} ({n})"
        try:
            if path.is_file():
                session = _upload_file(c, path, title, module)
            elif re.match(r"https?://", target):
                session = c.client.upload_link(target, title, module)
            else:
                raise ApiError(f"{target}: no such file, and not an http(s) link", USAGE)
        except ApiError as exc:
            err.print(f"[bold red]error:[/] {target}: {exc}", highlight=False, soft_wrap=True)
            failures.append({"target": target, "error": str(exc), "exit_code": exc.exit_code})
            code = code or exc.exit_code
            continue
        session["target"] = target
        created.append(session)
    if wait and created:
        finals = watch(c, [s["id"] for s in created])
        for s in created:
            s["job_status"] = finals[s["id"]]["job_status"]
            s["error_message"] = finals[s["id"]].get("error_message")
        if any(s["job_status"] == "Failed" for s in created):
            code = code or API_ERROR
    if c.json:
        emit({"sessions": created, "errors": failures})
    else:
        _sessions_table(created, "Uploaded")
    raise typer.Exit(code)


def _upload_file(c: Ctx, path: Path, name: str, module: str | None) -> dict[str, Any]:
    size = path.stat().st_size
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        console=err,
        disable=c.json,
        transient=True,
    ) as bars:
        task = bars.add_task(f"upload {path.name}", total=size)
        result: dict[str, Any] = c.client.upload_file(path, name, module, lambda n: bars.advance(task, n))
    return result


def _sessions_table(sessions: list[dict[str, Any]], title: str) -> None:
    table = Table(title=title)
    for col in ("id", "name", "module", "status", "progress", "snippets"):
        table.add_column(col)
    for s in sessions:
        progress = s.get("progress")
        table.add_row(
            str(s["id"]),
            s["name"],
            s.get("module") or "",
            s["job_status"] + (f"\n{s['error_message']}" if s.get("error_message") else ""),
            f"{progress:.0%}" if isinstance(progress, float) and s["job_status"] not in SETTLED else "",
            str(s.get("snippet_count", "")),
        )
    out.print(table)


# --- status -------------------------------------------------------------------------------------------


@app.command()
def status(
    ctx: typer.Context,
    session_id: Annotated[int | None, typer.Argument(help="A session (default: list the latest)")] = None,
    watch_: Annotated[bool, typer.Option("--watch", "-w", help="Progress bars until it settles")] = False,
    limit: Annotated[int, typer.Option(help="Sessions listed without an ID")] = 20,
) -> None:
    """A session's status (progress bars with --watch), or the latest sessions."""
    c = _ctx(ctx)
    if session_id is None:
        if watch_:
            fail("--watch needs a session ID", USAGE)
        rows = run(c.client.json, "GET", "/sessions", params={"limit": limit})
        if c.json:
            emit(rows)
        else:
            _sessions_table(rows, "Sessions")
        return
    if watch_:
        final = watch(c, [session_id])[session_id]
    else:
        final = run(c.client.json, "GET", f"/jobs/{session_id}/status")
    if c.json:
        emit({"id": session_id, **final})
    else:
        line = f"session {session_id}: [bold]{final['job_status']}[/]"
        if final.get("progress") is not None and final["job_status"] not in SETTLED:
            line += f" {final['progress']:.0%}"
        out.print(line)
        if final.get("error_message"):
            out.print(final["error_message"], style="red", highlight=False)
    raise typer.Exit(API_ERROR if final["job_status"] == "Failed" else 0)


def watch(c: Ctx, ids: list[int], interval: float = 0.5) -> dict[int, dict[str, Any]]:
    """Poll sessions until each is Finished or Failed, with one progress bar per stage and session."""
    finals: dict[int, dict[str, Any]] = {}
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
        console=err,
        disable=c.json,
    ) as bars:
        tasks: dict[tuple[int, str], TaskID] = {}
        for sid in ids:
            for _status, stage in STAGES:
                tasks[(sid, stage)] = bars.add_task(f"#{sid} {stage:<10}", total=1.0, start=False)
        while len(finals) < len(ids):
            for sid in ids:
                if sid in finals:
                    continue
                st: dict[str, Any] = run(c.client.json, "GET", f"/jobs/{sid}/status")
                _update_bars(bars, tasks, sid, st)
                if st["job_status"] in SETTLED:
                    finals[sid] = st
            if len(finals) < len(ids):
                time.sleep(interval)
    return finals


def _update_bars(bars: Progress, tasks: dict[tuple[int, str], TaskID], sid: int, st: dict[str, Any]) -> None:
    status_ = st["job_status"]
    names = [s for s, _ in STAGES]
    current = names.index(status_) if status_ in names else (len(names) if status_ == "Finished" else -1)
    for i, (_s, stage) in enumerate(STAGES):
        task = tasks[(sid, stage)]
        if i < current:
            bars.start_task(task)
            bars.update(task, completed=1.0)
        elif i == current:
            bars.start_task(task)
            bars.update(task, completed=float(st.get("progress") or 0.0))
    if status_ == "Failed":
        for _s, stage in STAGES:
            task = tasks[(sid, stage)]
            if bars.tasks[task].completed < 1.0:
                bars.update(task, description=f"#{sid} [red]failed[/]")
                break


# --- plan ---------------------------------------------------------------------------------------------


@app.command()
def plan(
    ctx: typer.Context,
    session_id: Annotated[int, typer.Argument(help="The session")],
    edit: Annotated[
        bool, typer.Option("--edit", help="Edit the plan as YAML in $EDITOR, then save it")
    ] = False,
) -> None:
    """The session's plan as a table (times, names, scores), or edit it with --edit."""
    c = _ctx(ctx)
    results = run(c.client.json, "GET", f"/sessions/{session_id}/results")
    if edit:
        results = _edit_plan(c, session_id, results)
    if c.json:
        emit(results)
        return
    plan_table(results)


def plan_table(results: dict[str, Any]) -> None:
    """Print a session's snippets as a table."""
    table = Table(title=f"Plan of session {results['id']}: {results['name']} ({results['job_status']})")
    for col, justify in (("snippet", "right"), ("start", "right"), ("end", "right"), ("length", "right")):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    table.add_column("name")
    table.add_column("score", justify="right")
    table.add_column("rendered")
    for s in results["snippets"]:
        score = s.get("score")
        table.add_row(
            str(s["id"]),
            clock(s["start"]),
            clock(s["end"]),
            f"{s['end'] - s['start']:.0f} s",
            s["name"],
            f"{score:.2f}" if isinstance(score, (int, float)) else "",
            "yes" if s.get("storage_link") else "",
        )
    out.print(table)


def _edit_plan(c: Ctx, session_id: int, results: dict[str, Any]) -> dict[str, Any]:
    snippets = [
        {"name": s["name"], "start": s["start"], "end": s["end"], "summary": s.get("summary", "")}
        for s in results["snippets"]
    ]
    header = (
        f"# Plan of session {session_id}: {results['name']}\n"
        "# Edit, add or remove snippets (times in seconds); save and close to apply, empty the file to cancel.\n"
    )
    text = header + yaml.safe_dump({"snippets": snippets}, sort_keys=False, allow_unicode=True)
    with tempfile.NamedTemporaryFile(
        "w", suffix=".yaml", prefix=f"aiat-plan-{session_id}-", delete=False
    ) as f:
        f.write(text)
        path = Path(f.name)
    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    try:
        done = subprocess.run([*shlex.split(editor), str(path)], check=False)
        if done.returncode != 0:
            fail(f"the editor {editor!r} exited with {done.returncode}; the plan is unchanged", USAGE)
        edited = path.read_text(encoding="utf-8")
    finally:
        path.unlink(missing_ok=True)
    if not edited.strip() or edited == text:
        err.print("no change; the plan is unchanged")
        return results
    body = validate_plan_yaml(edited)
    return dict(run(c.client.json, "PATCH", f"/sessions/{session_id}/plan", json=body))


def validate_plan_yaml(text: str) -> dict[str, Any]:
    """The PATCH body of an edited YAML plan; exit 2 naming the problem when it is not one."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        fail(f"the edited plan is not valid YAML: {exc}", USAGE)
    if not isinstance(data, dict) or not isinstance(data.get("snippets"), list):
        fail("the edited plan must be a mapping with a 'snippets' list", USAGE)
    body: list[dict[str, Any]] = []
    for n, s in enumerate(data["snippets"], 1):
        if not isinstance(s, dict):
            fail(f"snippet {n}: must be a mapping with name, start, end", USAGE)
        unknown = set(s) - {"name", "start", "end", "summary"}
        if unknown:
            fail(f"snippet {n}: unknown field(s) {', '.join(sorted(map(str, unknown)))}", USAGE)
        name, start, end = s.get("name"), s.get("start"), s.get("end")
        if not isinstance(name, str) or not name.strip():
            fail(f"snippet {n}: 'name' must be a non-empty text", USAGE)
        for key, value in (("start", start), ("end", end)):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                fail(f"snippet {n} ({name}): '{key}' must be a number of seconds", USAGE)
        assert isinstance(start, (int, float)) and isinstance(end, (int, float))
        if start < 0 or end <= start:
            fail(f"snippet {n} ({name}): needs 0 <= start < end (got {start} .. {end})", USAGE)
        summary = s.get("summary") or ""
        body.append({"name": name, "start": float(start), "end": float(end), "summary": str(summary)})
    return {"snippets": body}


# --- render / download --------------------------------------------------------------------------------


@app.command()
def render(
    ctx: typer.Context,
    ids: Annotated[
        list[int], typer.Argument(help="Session IDs (all their snippets), or snippet IDs with --snippets")
    ],
    snippets: Annotated[bool, typer.Option("--snippets", "-s", help="The IDs are snippet IDs")] = False,
    aspect: Annotated[Aspect | None, typer.Option(help="Output frame (default: the server's)")] = None,
    captions: Annotated[
        bool | None, typer.Option("--captions/--no-captions", help="Burned-in captions")
    ] = None,
    no_wait: Annotated[bool, typer.Option("--no-wait", help="Start the renders and return")] = False,
) -> None:
    """Render snippets into finished .mp4 files, waiting with progress bars unless --no-wait."""
    c = _ctx(ctx)
    targets: list[int] = []
    if snippets:
        targets = list(ids)
    else:
        for sid in ids:
            results = run(c.client.json, "GET", f"/sessions/{sid}/results")
            if not results["snippets"]:
                fail(f"session {sid} has no snippets (status {results['job_status']})", NOT_FOUND)
            targets += [s["id"] for s in results["snippets"]]
    options: dict[str, Any] = {}
    if aspect is not None:
        options["aspect"] = aspect.value
    if captions is not None:
        options["captions"] = captions
    tasks = {
        sn: run(c.client.json, "POST", f"/snippets/{sn}/process", json=options)["task_id"] for sn in targets
    }
    if no_wait:
        rows = [{"snippet_id": sn, "task_id": t, "status": "PENDING"} for sn, t in tasks.items()]
        if c.json:
            emit(rows)
        for r in [] if c.json else rows:
            out.print(f"snippet {r['snippet_id']}: task {r['task_id']}")
        return
    finals = wait_renders(c, tasks)
    rows = []
    for sn, t in finals.items():
        link = run(c.client.json, "GET", f"/snippets/{sn}").get("storage_link")
        ok = t["status"] == "SUCCESS" and link
        rows.append(
            {
                "snippet_id": sn,
                "task_id": tasks[sn],
                "status": t["status"],
                "error": t.get("error"),
                "url": f"{c.client.url}{API}/snippets/{sn}/download" if ok else None,
            }
        )
    if c.json:
        emit(rows)
    else:
        for r in rows:
            line = r["url"] if r["status"] == "SUCCESS" else f"[red]{r['status']}[/] {r['error']}"
            out.print(f"snippet {r['snippet_id']}: {line}", highlight=False)
    raise typer.Exit(API_ERROR if any(r["status"] != "SUCCESS" for r in rows) else 0)


def wait_renders(c: Ctx, tasks: dict[int, str], interval: float = 0.5) -> dict[int, dict[str, Any]]:
    """Poll render tasks until each succeeded or failed, one progress bar each."""
    finals: dict[int, dict[str, Any]] = {}
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
        console=err,
        disable=c.json,
    ) as bars:
        ids = {sn: bars.add_task(f"render snippet {sn}", total=1.0) for sn in tasks}
        while len(finals) < len(tasks):
            for sn, task_id in tasks.items():
                if sn in finals:
                    continue
                t: dict[str, Any] = run(c.client.json, "GET", f"/snippets/tasks/{task_id}")
                bars.update(ids[sn], completed=float(t.get("progress") or 0.0))
                if t["status"] in TASK_DONE:
                    if t["status"] == "SUCCESS":
                        bars.update(ids[sn], completed=1.0)
                    finals[sn] = t
            if len(finals) < len(tasks):
                time.sleep(interval)
    return finals


@app.command()
def download(
    ctx: typer.Context,
    snippet_ids: Annotated[list[int], typer.Argument(help="Rendered snippets")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Directory to write into")] = Path("."),
) -> None:
    """Download rendered snippets (.mp4) into a directory."""
    c = _ctx(ctx)
    output.mkdir(parents=True, exist_ok=True)
    saved: list[dict[str, Any]] = []
    with Progress(
        TextColumn("{task.description}"), BarColumn(), DownloadColumn(), console=err, disable=c.json
    ) as bars:
        for sn in snippet_ids:
            task = bars.add_task(f"snippet {sn}", total=None)

            def advance(n: int, total: int | None, task: TaskID = task) -> None:
                bars.update(task, advance=n, total=total)

            path = run(
                c.client.download, f"{API}/snippets/{sn}/download", output / f"snippet-{sn}.mp4", advance
            )
            saved.append({"snippet_id": sn, "path": str(path), "bytes": path.stat().st_size})
    if c.json:
        emit(saved)
    else:
        for s in saved:
            out.print(f"snippet {s['snippet_id']}: {s['path']} ({s['bytes']} bytes)", highlight=False)


@app.command()
def transcript(
    ctx: typer.Context,
    session_id: Annotated[int, typer.Argument(help="The session")],
    format: Annotated[Format, typer.Option("--format", "-f", help="Output format")] = Format.txt,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Write to a file")] = None,
) -> None:
    """The session's transcript (JSON, SRT, WebVTT or plain text) on stdout or into a file."""
    c = _ctx(ctx)
    response = run(
        c.client.request, "GET", f"{API}/sessions/{session_id}/transcript", params={"format": format.value}
    )
    if output is not None:
        output.write_bytes(response.content)
        if c.json:
            emit({"path": str(output), "bytes": len(response.content)})
        return
    sys.stdout.write(response.text)
