"""Output aspect presets: one name per value of the renderer proto's `Aspect` enum."""

from __future__ import annotations

from enum import StrEnum
from typing import cast

from aiat.renderer.v1 import renderer_pb2


class Aspect(StrEnum):
    """The framing of a rendered snippet, as REST, settings and the renderer name it."""

    LANDSCAPE = "landscape"
    VERTICAL = "vertical"
    SQUARE = "square"

    @property
    def proto(self) -> renderer_pb2.Aspect:
        """The renderer proto's enum value."""
        # The generated stub types Value() as a plain int.
        return cast(renderer_pb2.Aspect, renderer_pb2.Aspect.Value(f"ASPECT_{self.name}"))

    @classmethod
    def from_proto(cls, value: renderer_pb2.Aspect) -> Aspect | None:
        """The preset of a proto value; None for ASPECT_UNSPECIFIED (the renderer's default)."""
        name = renderer_pb2.Aspect.Name(value).removeprefix("ASPECT_")
        return None if name == "UNSPECIFIED" else cls[name]
