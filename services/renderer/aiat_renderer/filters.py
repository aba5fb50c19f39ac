"""FFmpeg filter-graph text: escaping, colours, drawtext lines and the render graph."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

from aiat.errors import InvalidInput
from aiat_renderer.layout import Composition, Geometry, LogoBox, even

_OPTION_SPECIAL = "\\':"
_GRAPH_SPECIAL = "\\'[],;"
_HEX = re.compile(r"^(?:#|0x)?([0-9a-fA-F]{6})$")
_NAME = re.compile(r"^[A-Za-z]{3,32}$")


def escape_value(value: str) -> str:
    """Escape a filter option value for both levels FFmpeg parses (option list, then filtergraph)."""
    if "\x00" in value or "\n" in value or "\r" in value:
        raise InvalidInput("filter values cannot contain NUL or line breaks")
    level1 = "".join(f"\\{c}" if c in _OPTION_SPECIAL else c for c in value)
    return "".join(f"\\{c}" if c in _GRAPH_SPECIAL else c for c in level1)


def parse_color(value: str, names: dict[str, str]) -> str:
    """A colour as `0xRRGGBB` from `#RRGGBB`, `0xRRGGBB` or an FFmpeg colour name; InvalidInput otherwise."""
    text = value.strip()
    match = _HEX.match(text)
    if match:
        return f"0x{match.group(1).lower()}"
    if _NAME.match(text) and text.lower() in names:
        return f"0x{names[text.lower()]}"
    raise InvalidInput(f"unknown colour {value!r}: use #RRGGBB or an FFmpeg colour name")


def ass_color(ffmpeg_color: str) -> str:
    """`0xRRGGBB` as an ASS colour `&H00BBGGRR`."""
    rgb = ffmpeg_color[2:]
    return f"&H00{rgb[4:6]}{rgb[2:4]}{rgb[0:2]}".upper()


def crop_x_expr(points: tuple[tuple[float, int], ...]) -> str:
    """The crop window's left edge as an FFmpeg expression of t: linear between the points, held outside them."""
    expr = str(points[-1][1])
    for (t0, x0), (t1, x1) in reversed(list(itertools.pairwise(points))):
        expr = f"if(lt(t,{t1:.3f}),{x0}+{x1 - x0}*(t-{t0:.3f})/{max(t1 - t0, 1e-3):.3f},{expr})"
    return f"if(lt(t,{points[0][0]:.3f}),{points[0][1]},{expr})"


def frame_chain(
    geom: Geometry, rate: Fraction, pad_color: str = "black", path: tuple[tuple[float, int], ...] = ()
) -> str:
    """Filters taking decoded source frames to the output frame: CFR, crop (panning along `path`), fit, pad."""
    parts = [f"fps={rate}"]
    if geom.crop is not None:
        c = geom.crop
        x = escape_value(crop_x_expr(path)) if len(path) > 1 else str(path[0][1] if path else c.x)
        parts.append(f"crop={c.w}:{c.h}:{x}:{c.y}")
    w, h = geom.width, geom.height
    parts += [
        f"scale={w}:{h}:force_original_aspect_ratio=decrease:force_divisible_by=2",
        f"pad={w}:{h}:(ow-iw)/2:(oh-ih)/2:color={pad_color}",
        "setsar=1",
    ]
    return ",".join(parts)


def composition_chains(comp: Composition, rate: Fraction, fill: str, out: str) -> list[str]:
    """Chains drawing a fit or stack frame into `[out]`: a blurred copy of the frame (or a colour), then the tiles."""
    n = len(comp.tiles)
    w, h = comp.width, comp.height
    chains = [f"[0:v]fps={rate},setsar=1,split={n + 1}[bg0]" + "".join(f"[t{i}]" for i in range(n))]
    if fill == "blur":
        bw, bh = even(w / 8), even(h / 8)
        background = f"scale={bw}:{bh}:force_original_aspect_ratio=increase,crop={bw}:{bh},boxblur=6:2"
    else:
        background = f"scale=16:16,drawbox=x=0:y=0:w=iw:h=ih:color={fill}:t=fill"
    chains.append(f"[bg0]{background},scale={w}:{h},setsar=1[bg]")
    below = "bg"
    for i, tile in enumerate(comp.tiles):
        crop = f"crop={tile.source.w}:{tile.source.h}:{tile.source.x}:{tile.source.y}," if tile.source else ""
        t = tile.target
        chains.append(f"[t{i}]{crop}scale={t.w}:{t.h},setsar=1[s{i}]")
        label = out if i == n - 1 else f"o{i}"
        chains.append(f"[{below}][s{i}]overlay=x={t.x}:y={t.y}[{label}]")
        below = label
    return chains


@dataclass(frozen=True)
class TextLine:
    """One line of text drawn by drawtext from a file (so user text never enters the graph)."""

    textfile: Path
    y: int
    fontsize: int
    color: str
    box_color: str | None = None
    fontfile: Path | None = None  # the graph's font unless this text needs another script's


def drawtext(line: TextLine, fontfile: Path, border: int) -> str:
    """A drawtext filter for one centred line, read verbatim from its file (no %-expansion)."""
    opts = [
        f"fontfile={escape_value(str(line.fontfile or fontfile))}",
        f"textfile={escape_value(str(line.textfile))}",
        "expansion=none",
        f"fontsize={line.fontsize}",
        f"fontcolor={line.color}",
        "x=(w-text_w)/2",
        f"y={line.y}",
    ]
    if line.box_color:
        opts += ["box=1", f"boxcolor={line.box_color}@0.85", f"boxborderw={border}"]
    else:
        opts += [f"borderw={max(1, border // 4)}", "bordercolor=black@0.7"]
    return "drawtext=" + ":".join(opts)


@dataclass
class GraphSpec:
    """Everything the render graph needs, with files already written and inputs numbered."""

    geometry: Geometry
    rate: Fraction
    duration: float
    source_has_audio: bool
    audio_input: int
    fontfile: Path
    title_lines: list[TextLine] = field(default_factory=list)
    ass_file: Path | None = None
    fonts_dir: Path | None = None
    logo_input: int | None = None
    logo: LogoBox | None = None
    normalize: str | None = None
    intro_seconds: float = 0.0
    intro_lines: list[TextLine] = field(default_factory=list)
    intro_color: str = "black"
    intro_input: int | None = None
    intro_has_audio: bool = False
    box_border: int = 10
    composition: Composition | None = None
    fill: str = "blur"
    crop_path: tuple[tuple[float, int], ...] = ()


AUDIO_FORMAT = "aformat=sample_fmts=fltp:sample_rates=48000:channel_layouts=stereo"


def build_graph(spec: GraphSpec) -> str:
    """The -filter_complex text producing [vout] and [aout]."""
    g = spec.geometry
    chains: list[str] = []
    video: list[str] = []
    if spec.composition is not None:
        chains += composition_chains(spec.composition, spec.rate, spec.fill, "base")
        head = "[base]"
    else:
        head = "[0:v]"
        video.append(frame_chain(g, spec.rate, path=spec.crop_path))
    if spec.logo_input is not None and spec.logo is not None:
        logo = spec.logo
        chains.append(f"[{spec.logo_input}:v]scale={logo.width}:{logo.height},format=rgba[logo]")
        if video:
            chains.append(f"{head}{','.join(video)}[base]")
        video = [f"[base][logo]overlay=x={logo.x}:y={logo.y}:format=auto:eof_action=repeat"]
        head = ""
    video += [drawtext(line, spec.fontfile, spec.box_border) for line in spec.title_lines]
    if spec.ass_file is not None:
        opts = f"filename={escape_value(str(spec.ass_file))}"
        if spec.fonts_dir is not None:
            opts += f":fontsdir={escape_value(str(spec.fonts_dir))}"
        video.append(f"ass={opts}")
    video.append("format=yuv420p")
    chains.append(f"{head}{','.join(video)}[mv]")

    audio = []
    if spec.normalize:
        # Under 3 s loudnorm applies one gain from the whole clip's loudness, infinite (NaN out) for silence;
        # padding to 3 s keeps it in its bounded dynamic mode (the pad is trimmed off below).
        audio += ["apad=whole_dur=3", f"loudnorm={spec.normalize}", "aresample=48000"]
    audio += [AUDIO_FORMAT, f"apad,atrim=end={spec.duration:.6f}", "asetpts=PTS-STARTPTS"]
    chains.append(f"[{spec.audio_input}:a]{','.join(audio)}[ma]")

    if spec.intro_seconds <= 0:
        chains.append("[mv]null[vout]")
        chains.append("[ma]anull[aout]")
        return ";".join(chains)

    d = f"{spec.intro_seconds:.6f}"
    if spec.intro_input is None:
        card = [f"color=c={spec.intro_color}:s={g.width}x{g.height}:r={spec.rate}:d={d}", "format=yuv420p"]
        card += [drawtext(line, spec.fontfile, spec.box_border) for line in spec.intro_lines]
        chains.append(",".join(card) + ",setsar=1[iv]")
        chains.append(f"anullsrc=r=48000:cl=stereo,atrim=end={d},{AUDIO_FORMAT}[ia]")
    else:
        chains.append(
            f"[{spec.intro_input}:v]{frame_chain(Geometry(g.width, g.height, None), spec.rate)},"
            f"trim=end={d},setpts=PTS-STARTPTS,format=yuv420p[iv]"
        )
        source = f"[{spec.intro_input}:a]" if spec.intro_has_audio else "anullsrc=r=48000:cl=stereo,"
        chains.append(f"{source}{AUDIO_FORMAT},apad,atrim=end={d},asetpts=PTS-STARTPTS[ia]")
    chains.append("[iv][ia][mv][ma]concat=n=2:v=1:a=1[vout][aout]")
    return ";".join(chains)
