"""Framing layouts: one name per value of the renderer proto's `Layout` enum."""

from __future__ import annotations

from enum import StrEnum
from typing import cast

from aiat.renderer.v1 import renderer_pb2


class Layout(StrEnum):
    """How a snippet frames its source, as REST, settings and the renderer name it."""

    AUTO = "auto"
    CROP = "crop"
    FIT = "fit"
    STACK = "stack"

    @property
    def proto(self) -> renderer_pb2.Layout:
        """The renderer proto's enum value."""
        return cast(renderer_pb2.Layout, renderer_pb2.Layout.Value(f"LAYOUT_{self.name}"))

    @classmethod
    def from_proto(cls, value: renderer_pb2.Layout) -> Layout | None:
        """The layout of a proto value; None for LAYOUT_UNSPECIFIED (the renderer's default)."""
        name = renderer_pb2.Layout.Name(value).removeprefix("LAYOUT_")
        return None if name == "UNSPECIFIED" else cls[name]
