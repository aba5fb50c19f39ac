"""The one Aspect type against the renderer proto's enum."""

from __future__ import annotations

import pytest

from aiat.aspect import Aspect
from aiat.renderer.v1 import renderer_pb2


@pytest.mark.parametrize("aspect", list(Aspect))
def test_round_trip_through_the_proto(aspect: Aspect) -> None:
    assert Aspect.from_proto(aspect.proto) is aspect


def test_every_proto_value_has_a_preset() -> None:
    named = {v for v in renderer_pb2.Aspect.values() if v != renderer_pb2.ASPECT_UNSPECIFIED}
    assert {a.proto for a in Aspect} == named
    assert Aspect.from_proto(renderer_pb2.ASPECT_UNSPECIFIED) is None


def test_values_are_the_rest_words() -> None:
    assert [str(a) for a in Aspect] == ["landscape", "vertical", "square"]
