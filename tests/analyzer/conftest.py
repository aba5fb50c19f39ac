"""Shared fixtures: a short three-topic lecture as a timed transcript."""

from __future__ import annotations

import pytest

from aiat.common.v1 import transcript_pb2
from tests.analyzer.lectures import TOPICS, make_transcript


@pytest.fixture
def lecture() -> transcript_pb2.Transcript:
    """Three topics of ten sentences (~50 s each at 150 words a minute)."""
    return make_transcript([s for topic in TOPICS for s in topic])
