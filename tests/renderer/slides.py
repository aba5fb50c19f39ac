"""Generated lectures: slides with a title and bullets plus a moving speaker inset, and a talking head."""

from __future__ import annotations

import subprocess
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from aiat.media import ffmpeg_exe

DEJAVU = Path("/usr/share/fonts/truetype/dejavu")
SLIDES = (
    (
        "Conjunctive Normal Form",
        [
            "Every formula has an equivalent form",
            "Clauses are joined by conjunction",
            "Literals are variables or negations",
            "Modern solvers expect this input",
        ],
    ),
    (
        "Resolution Proofs",
        [
            "Pick two clauses with opposite literals",
            "Merge them into a resolvent clause",
            "The empty clause proves unsatisfiable",
            "Complete for refutation of formulas",
        ],
    ),
)
INSET = (940, 430, 300, 260)  # x, y, w, h of the camera inset on each slide
FACE_COLOR = (236, 140, 60)  # a saturated orange, easy to find again in rendered frames


def slide_words() -> list[list[str]]:
    """The words of each slide (title and bullets)."""
    return [" ".join([title, *bullets]).split() for title, bullets in SLIDES]


def _slide_png(out: Path, title: str, bullets: list[str]) -> Path:
    img = Image.new("RGB", (1280, 720), (250, 250, 247))
    draw = ImageDraw.Draw(img)
    draw.text(
        (70, 50), title, font=ImageFont.truetype(str(DEJAVU / "DejaVuSans-Bold.ttf"), 56), fill=(20, 40, 90)
    )
    body = ImageFont.truetype(str(DEJAVU / "DejaVuSans.ttf"), 34)
    for i, line in enumerate(bullets):
        y = 170 + i * 62
        draw.ellipse((74, y + 12, 88, y + 26), fill=(20, 40, 90))
        draw.text((104, y), line, font=body, fill=(15, 15, 15))
    x, y, w, h = INSET
    draw.rectangle((x, y, x + w, y + h), fill=(70, 78, 92))
    img.save(out)
    return out


def _face_png(out: Path) -> Path:
    img = Image.new("RGBA", (120, 150), (0, 0, 0, 0))
    draw = ImageDraw.Draw(img)
    draw.ellipse((5, 5, 115, 145), fill=(*FACE_COLOR, 255))
    for ex in (35, 85):
        draw.ellipse((ex - 9, 55, ex + 9, 70), fill=(30, 30, 30, 255))
    draw.rectangle((40, 105, 80, 115), fill=(120, 30, 30, 255))
    img.save(out)
    return out


def slide_lecture(out: Path, seconds: float, fps: int = 25) -> Path:
    """An H.264/AAC lecture: each slide for an equal share of `seconds`, a face moving inside the inset."""
    out.parent.mkdir(parents=True, exist_ok=True)
    work = out.parent
    pngs = [_slide_png(work / f"{out.stem}-slide{i}.png", t, b) for i, (t, b) in enumerate(SLIDES)]
    face = _face_png(work / f"{out.stem}-face.png")
    each = seconds / len(pngs)
    cmd = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y"]
    for png in pngs:
        cmd += ["-loop", "1", "-framerate", str(fps), "-t", f"{each:.3f}", "-i", str(png)]
    cmd += ["-loop", "1", "-framerate", str(fps), "-i", str(face)]
    cmd += ["-f", "lavfi", "-i", f"sine=frequency=300:sample_rate=48000:duration={seconds}"]
    n = len(pngs)
    x, y, w, h = INSET
    move_x = f"{x + w / 2 - 60}+{w / 2 - 70}*sin(2*PI*t/1.7)"
    move_y = f"{y + h / 2 - 75}+{h / 2 - 85}*sin(2*PI*t/2.3)"
    graph = (
        "".join(f"[{i}:v]" for i in range(n))
        + f"concat=n={n}:v=1:a=0,format=yuv420p[bg];"
        + f"[bg][{n}:v]overlay=x='{move_x}':y='{move_y}':shortest=1,format=yuv420p[v]"
    )
    cmd += ["-filter_complex", graph, "-map", "[v]", "-map", f"{n + 1}:a", "-t", str(seconds)]
    cmd += ["-c:v", "libx264", "-preset", "veryfast", "-g", str(fps * 2), "-pix_fmt", "yuv420p"]
    cmd += ["-c:a", "aac", "-b:a", "96k", str(out)]
    subprocess.run(cmd, check=True, capture_output=True)
    return out


def talking_head(out: Path, seconds: float, fps: int = 25) -> Path:
    """A speaker (the face) walking slowly from the left third to the right third of a plain 1280x720 room."""
    out.parent.mkdir(parents=True, exist_ok=True)
    face = _face_png(out.parent / f"{out.stem}-face.png")
    move_x = f"300+600*t/{seconds}+15*sin(2*PI*t/0.9)"
    cmd = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y"]
    cmd += ["-f", "lavfi", "-i", f"gradients=s=1280x720:c0=0x303848:c1=0x687890:r={fps}:d={seconds}:speed=0"]
    cmd += ["-loop", "1", "-framerate", str(fps), "-i", str(face)]
    cmd += ["-f", "lavfi", "-i", f"sine=frequency=300:sample_rate=48000:duration={seconds}"]
    graph = f"[0:v][1:v]overlay=x='{move_x}':y='280+10*sin(2*PI*t/1.3)':shortest=1,format=yuv420p[v]"
    cmd += ["-filter_complex", graph, "-map", "[v]", "-map", "2:a", "-t", str(seconds)]
    cmd += ["-c:v", "libx264", "-preset", "veryfast", "-g", str(fps * 2), "-pix_fmt", "yuv420p"]
    cmd += ["-c:a", "aac", "-b:a", "96k", str(out)]
    subprocess.run(cmd, check=True, capture_output=True)
    return out
