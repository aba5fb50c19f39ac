"""`make demo`: the embedded stack, a generated sample lecture sent through the whole pipeline, offline."""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import typer
from rich.console import Console

from aiat_cli.client import ApiError, Client
from aiat_cli.main import Ctx, plan_table, wait_renders, watch

console = Console(stderr=True)
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
# Three topics, so the analyzer has boundaries to find; each slide is spoken while it is shown.
SLIDES: tuple[tuple[str, str], ...] = (
    (
        "Newton's laws of motion",
        "Welcome to this short lecture on classical mechanics. We start with Newton's laws of motion. "
        "The first law says that a body keeps its state of rest or of uniform motion unless a force acts "
        "on it. This property is called inertia. A hockey puck on smooth ice slides for a long time "
        "because almost no force slows it down. The second law says that force equals mass times "
        "acceleration. If you push a heavy cart and a light cart with the same force, the light cart "
        "accelerates more. The third law says that for every action there is an equal and opposite "
        "reaction. When you push against a wall, the wall pushes back on you with the same force.",
    ),
    (
        "Energy and its conservation",
        "Now let us change topic and talk about energy. Energy comes in many forms. Kinetic energy is "
        "the energy of motion, and it equals one half of the mass times the velocity squared. Potential "
        "energy is stored energy, for example the energy of a book on a high shelf, which depends on "
        "its height. The most important principle is the conservation of energy. In a closed system the "
        "total energy never changes. It only turns from one form into another. A falling ball turns its "
        "potential energy into kinetic energy, and friction turns kinetic energy into heat.",
    ),
    (
        "Waves and sound",
        "Our last topic today is waves. A wave carries energy from one place to another without "
        "carrying matter. Sound is a wave of pressure travelling through the air. The frequency of a "
        "wave tells us how many oscillations happen each second, and we hear it as the pitch of a "
        "sound. The wavelength is the distance between two crests. The speed of a wave equals its "
        "frequency times its wavelength. In air at room temperature, sound travels at about three "
        "hundred and forty meters per second. That is all for today. Thank you for listening.",
    ),
)


def ffmpeg() -> str:
    """The system's ffmpeg, else the static one the renderer installs (imageio-ffmpeg)."""
    found = shutil.which("ffmpeg")
    if found:
        return found
    import imageio_ffmpeg

    return str(imageio_ffmpeg.get_ffmpeg_exe())


# `--sample tiny` (hidden, for tests): one slide of four sentences, about 19 s, analysed with 8 s snippets
# (start_stack). It must yield a snippet, so a finished session goes on to a render: the former 6 s of
# two sentences gave none (each sentence alone is under the minimum, min(20 s, the lecture's length)).
TINY: tuple[tuple[str, str], ...] = (
    (
        "Newton's laws of motion",
        "We start with Newton's laws of motion. The first law says that a body keeps its state of rest "
        "or of uniform motion unless a force acts on it. The second law says that force equals mass "
        "times acceleration. The third law says that for every action there is an equal and opposite "
        "reaction.",
    ),
)


def sample_lecture(cache: Path, tiny: bool = False) -> Path:
    """The sample lecture (slides + espeak-ng speech, 640x360 H.264/AAC), generated once under `cache`."""
    slides = TINY if tiny else SLIDES
    out = cache / ("sample-lecture-tiny.mp4" if tiny else "sample-lecture.mp4")
    if out.is_file():
        return out
    if shutil.which("espeak-ng") is None:
        raise SystemExit("espeak-ng is missing: `make sysdeps` installs it")
    work = cache / "build"
    work.mkdir(parents=True, exist_ok=True)
    parts: list[Path] = []
    for n, (title, speech) in enumerate(slides, 1):
        wav, txt, part = work / f"{n}.wav", work / f"{n}.txt", work / f"{n}.mp4"
        subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(wav), speech], check=True)
        txt.write_text(title, encoding="utf-8")
        font = f"fontfile={FONT}:" if FONT.is_file() else ""
        text = (
            f"drawtext={font}textfile={txt}:fontsize=34:fontcolor=white:x=(w-text_w)/2:y=h/3,"
            f"drawtext={font}text='Slide {n} of {len(slides)}':fontsize=20:fontcolor=gray:"
            "x=(w-text_w)/2:y=h*2/3"
        )
        subprocess.run(
            [
                ffmpeg(), "-hide_banner", "-loglevel", "error", "-y",
                "-f", "lavfi", "-i", "color=c=0x1e3a5f:s=640x360:r=25",
                "-i", str(wav), "-vf", text, "-shortest",
                "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p",
                "-c:a", "aac", "-ar", "48000", "-b:a", "96k", str(part),
            ],
            check=True,
        )  # fmt: skip
        parts.append(part)
    listing = work / "parts.txt"
    listing.write_text("".join(f"file '{p.name}'\n" for p in parts), encoding="utf-8")
    tmp = out.with_suffix(".part.mp4")
    subprocess.run(
        [ffmpeg(), "-hide_banner", "-loglevel", "error", "-y", "-f", "concat", "-safe", "0",
         "-i", str(listing), "-c", "copy", "-movflags", "+faststart", str(tmp)],
        check=True,
    )  # fmt: skip
    tmp.replace(out)
    shutil.rmtree(work, ignore_errors=True)
    return out


def port_free(port: int) -> bool:
    """Whether nothing listens on 127.0.0.1:`port`."""
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def start_stack(data_dir: Path, port: int, log: Path, tiny: bool = False) -> subprocess.Popen[bytes]:
    """`aiat-stack` (what `make run` starts) in its own process group, logging to `log`."""
    env = {**os.environ, "AIAT_DATA_DIR": str(data_dir), "AIAT_HTTP_PORT": str(port)}
    env.setdefault("AIAT_HTTP_HOST", "127.0.0.1")
    if tiny:  # with the default 20 s its four sentences (19 s) gave no snippet; with 8 s, one
        env.setdefault("AIAT_ANALYZER_MIN_SECONDS", "8")
    # The bundled LLM took over 6 minutes for this 2½-minute lecture on 2 cores; the lexical engine
    # takes seconds. AIAT_ANALYZER_ENGINE=llama make demo shows the LLM's names instead.
    env.setdefault("AIAT_ANALYZER_ENGINE", "lexical")
    # Snippets of 20-60 s: the sample's three topics are about 40 s each.
    env.setdefault("AIAT_ANALYZER_MIN_SECONDS", "20")
    env.setdefault("AIAT_ANALYZER_MAX_SECONDS", "60")
    # Ctrl-C should not wait for the job in hand (60 s by default): it is handed back and resumed next time.
    env.setdefault("AIAT_WORKER_GRACE_SECONDS", "3")
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as f:
        # Its own session: Ctrl-C reaches the demo only, which then stops the stack in order (SIGTERM).
        return subprocess.Popen(
            [sys.executable, "-m", "aiat_gateway.stack"], env=env, stdout=f, stderr=f, start_new_session=True
        )


def stop_stack(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM and wait (the stack stops its children); SIGKILL the group after 60 s. Not interruptible."""
    # A second Ctrl-C must not cut this short: the stack, in its own session, would be left running.
    # (signal.signal cannot do it alone: it first runs the handlers of signals already pending.)
    SIGNALS.stopping = True
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if proc.poll() is not None:
        return
    console.print("stopping the stack (NATS, gateway, worker, engines)…")
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def wait_ready(base: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 300) -> None:
    """Poll /readyz until every dependency is up; exit with the log's tail if the stack dies."""
    deadline = time.monotonic() + timeout
    with console.status("starting the stack (NATS, gateway, worker, transcriber, analyzer, renderer)…"):
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                tail = log.read_text(errors="replace").splitlines()[-20:]
                raise SystemExit("the stack exited during start-up:\n" + "\n".join(tail))
            try:
                if httpx.get(f"{base}/readyz", timeout=5).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
    raise SystemExit(f"the stack was not ready after {timeout:.0f} s; see {log}")


def upload(c: Ctx, video: Path) -> int:
    """Upload the sample; an earlier demo's session of the same file is used again."""
    try:
        session: dict[str, Any] = c.client.upload_file(video, "Demo: a short physics lecture", "Physics")
        return int(session["id"])
    except ApiError as exc:
        found = re.search(r"already uploaded \(session (\d+)\)", str(exc))
        if found is None:
            raise
        console.print(f"this sample was uploaded before: session {found.group(1)} is used again")
        return int(found.group(1))


class SIGNALS:
    """Set by the first Ctrl-C or SIGTERM, and when the clean-up starts: from then on they are ignored."""

    stopping = False


def interrupted(signum: int, _frame: object) -> None:
    """Ctrl-C or SIGTERM: one KeyboardInterrupt, so the stack is stopped, not orphaned.

    A second one (an impatient Ctrl-C) does nothing: raised while the first unwinds — in a progress
    bar's exit, in the client's close, in the `finally` before the stack is stopped — it would cut the
    clean-up short and leave the stack, in its own session, running.
    """
    if SIGNALS.stopping:
        return
    SIGNALS.stopping = True
    raise KeyboardInterrupt


def run_demo(root: Path, port: int, stay: bool, tiny: bool = False) -> int:
    """The whole demo; returns the exit code (0 done or stopped after it, 130 interrupted before)."""
    SIGNALS.stopping = False
    signal.signal(signal.SIGINT, interrupted)
    signal.signal(signal.SIGTERM, interrupted)
    try:
        return demo(root, port, stay, tiny)
    except KeyboardInterrupt:
        console.print("interrupted before the demo finished: everything it started is stopped")
        return 130


def demo(root: Path, port: int, stay: bool, tiny: bool) -> int:
    """Generate the sample, start the stack, run the pipeline; the stack is always stopped."""
    t0 = time.monotonic()
    cache, data = root / "demo", root / "demo" / "data"
    with console.status("generating the sample lecture (espeak-ng speech over slides, once)…"):
        video = sample_lecture(cache, tiny)
    console.print(f"sample lecture: {video} ({video.stat().st_size // 1024} KiB)")
    if not port_free(port):
        raise SystemExit(f"port {port} is in use (a `make run` already?); set AIAT_HTTP_PORT")
    base = f"http://127.0.0.1:{port}"
    log = cache / "stack.log"
    c = Ctx(Client(base, timeout=300), json=False)
    proc = start_stack(data, port, log, tiny)
    try:
        wait_ready(base, proc, log)
        console.print(f"stack ready in {time.monotonic() - t0:.0f} s (log: {log})")
        session_id = upload(c, video)
        final = watch(c, [session_id])[session_id]
        if final["job_status"] != "Finished":
            console.print(f"[red]session {session_id} failed:[/] {final.get('error_message')}")
            return 1
        results = c.client.json("GET", f"/sessions/{session_id}/results")
        plan_table(results)
        if not results["snippets"]:  # max() below would end the demo with a ValueError
            console.print(f"[red]session {session_id} has no snippet:[/] the analyzer found none to render")
            return 1
        best = max(results["snippets"], key=lambda s: s.get("score") or 0.0)
        console.print(f"rendering the best snippet, #{best['id']} {best['name']!r}, vertical with captions")
        task = c.client.json(
            "POST", f"/snippets/{best['id']}/process", json={"aspect": "vertical", "captions": True}
        )
        done = wait_renders(c, {best["id"]: task["task_id"]})[best["id"]]
        if done["status"] != "SUCCESS":
            console.print(f"[red]render failed:[/] {done.get('error')}")
            return 1
        name = c.client.json("GET", f"/snippets/{best['id']}")["storage_link"]
        mp4 = data / "media" / "output" / str(session_id) / "snippets" / name
        console.print(f"\n[bold green]done in {time.monotonic() - t0:.0f} s[/]")
        console.print(f"  snippet video   {base}/output/{session_id}/snippets/{quote(name)}")
        console.print(f"  on disk         {mp4}")
        console.print(f"  sample lecture  {video}")
        console.print(f"  studio          {base}/")
        console.print(f"  API docs        {base}/docs")
        console.print(f"  command line    aiat --url {base} plan {session_id}")
        if stay:
            console.print("\nthe stack keeps running; Ctrl-C stops everything")
            try:
                while proc.poll() is None:
                    time.sleep(0.5)
            except KeyboardInterrupt:
                console.print()
                return 0  # the way this mode ends
            console.print("[red]the stack stopped on its own[/]; see its log")
            return 1
        return 0
    except ApiError as exc:
        console.print(f"[red]API error:[/] {exc}")
        return exc.exit_code
    except typer.Exit as exc:  # an ApiError inside watch or wait_renders: their `fail` printed it
        return int(exc.exit_code)
    finally:
        SIGNALS.stopping = True  # first, before any call: no Ctrl-C can land between here and the stop
        c.client.close()
        stop_stack(proc)
        console.print("stack stopped")


def main(argv: list[str] | None = None) -> int:
    """`python -m aiat_cli.demo [--exit]`."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--root", type=Path, default=Path("var"), help="where the sample and data go")
    parser.add_argument("--port", type=int, default=int(os.environ.get("AIAT_HTTP_PORT", "8000")))
    parser.add_argument("--exit", action="store_true", help="stop once the snippet is rendered")
    parser.add_argument("--sample", choices=("full", "tiny"), default="full", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    return run_demo(args.root.resolve(), args.port, stay=not args.exit, tiny=args.sample == "tiny")


if __name__ == "__main__":
    sys.exit(main())
