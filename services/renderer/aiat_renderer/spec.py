"""What a render is and what it reports, in plain Python: the servicer's and the engine's shared vocabulary."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from aiat.aspect import Aspect
from aiat.framing import Layout
from aiat_renderer.layout import Rect


@dataclass(frozen=True)
class RenderSpec:
    """One snippet to render (the RenderRequest without proto types); `None` means "the renderer's default"."""

    source_path: str
    start: float
    end: float
    output_path: str
    title: str = ""
    module: str = ""
    session_name: str = ""
    aspect: Aspect | None = None
    x_center: float | None = None
    roi: Rect | None = None
    layout: Layout | None = None
    slide: Rect | None = None
    speaker: Rect | None = None
    font: str = ""
    text_color: str = ""
    accent_color: str = ""
    title_position: str = ""
    logo_path: str = ""
    intro_enabled: bool | None = None
    intro_seconds: float = 0.0
    intro_video: str = ""
    captions_enabled: bool | None = None
    highlight_words: bool | None = None
    write_srt: bool | None = None
    normalize_audio: bool | None = None
    words: Sequence[tuple[float, float, str]] = ()


@dataclass(frozen=True)
class RenderProgress:
    """Seconds of output encoded so far, and the stage (planning, encoding, done)."""

    done: float
    total: float
    stage: str


@dataclass(frozen=True)
class RenderOutcome:
    """The finished snippet."""

    output_path: str
    duration: float
    size_bytes: int
    encoder: str
    srt_path: str
    width: int
    height: int
    layout: Layout = Layout.CROP
    slide: Rect | None = None
    speaker: Rect | None = None
    analysis_seconds: float = 0.0


ProgressFn = Callable[[RenderProgress], None]
