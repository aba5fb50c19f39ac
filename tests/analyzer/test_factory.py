"""build_engine: the parts each engine is wired from, with no I/O before load()."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from aiat_analyzer.combine import DEFAULT_COST_SCALE, EvidenceProposer
from aiat_analyzer.factory import build_engine, request_limits
from aiat_analyzer.lexical import ExtractiveRefiner
from aiat_analyzer.llm.llama import LlamaBackend
from aiat_analyzer.llm.refiner import LlmRefiner
from aiat_analyzer.llm.vllm import VllmBackend
from aiat_analyzer.segmenter import SegmenterParams
from aiat_analyzer.settings import AnalyzerSettings


def test_lexical_engine_is_the_proposer_and_the_extractive_refiner() -> None:
    """No model: the evidence proposer (its weights from the settings) and the extractive labels."""
    settings = AnalyzerSettings(engine="lexical", cue_weight=0.7, meaning_weight=0, boundary_scorer=False)
    engine = build_engine(settings)
    assert engine.name == "lexical"
    assert isinstance(engine.proposer, EvidenceProposer) and isinstance(engine.refiner, ExtractiveRefiner)
    assert engine.proposer.weights.cue == 0.7 and engine.proposer.weights.meaning == 0


def test_the_section_slide_weight_reaches_the_proposer_and_is_checked() -> None:
    """AIAT_ANALYZER_SLIDE_SECTION_WEIGHT sets the proposer's weight (default on); negative is refused."""
    default = build_engine(AnalyzerSettings(engine="lexical")).proposer
    assert isinstance(default, EvidenceProposer) and default.weights.slide_section == 2.0
    engine = build_engine(AnalyzerSettings(engine="lexical", slide_section_weight=0.5))
    assert isinstance(engine.proposer, EvidenceProposer) and engine.proposer.weights.slide_section == 0.5
    with pytest.raises(ValueError, match="must not be negative"):
        AnalyzerSettings(slide_section_weight=-1)


def test_llm_engines_are_built_without_touching_the_model_or_the_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A missing model file and an unreachable vLLM server do not matter until load(): no connection tried."""
    dialled: list[object] = []

    def record(self: socket.socket, address: object) -> None:
        dialled.append(address)
        raise ConnectionRefusedError(address)

    monkeypatch.setattr(socket.socket, "connect", record)
    llama = build_engine(AnalyzerSettings(engine="llama", model_path=tmp_path / "absent.gguf", window=3))
    vllm = build_engine(
        AnalyzerSettings(
            engine="vllm", vllm_url="http://127.0.0.1:9/v1", vllm_parallel=4, vllm_startup_timeout=60
        )
    )
    assert dialled == []
    assert not (tmp_path / "absent.gguf").exists()
    for engine, backend_type in ((llama, LlamaBackend), (vllm, VllmBackend)):
        refiner = engine.refiner
        assert isinstance(refiner, LlmRefiner) and isinstance(refiner.backend, backend_type)
        assert isinstance(refiner.fallback, ExtractiveRefiner)
        engine.close()
    assert (llama.name, vllm.name) == ("llama", "vllm")
    assert isinstance(llama.refiner, LlmRefiner) and llama.refiner.window == 3
    assert isinstance(vllm.refiner, LlmRefiner) and vllm.refiner.backend.parallel == 4


def test_cost_scale_and_explicit_params_reach_the_proposer() -> None:
    """proposer_cost_scale multiplies the per-segment cost; explicit params win over the settings."""
    scaled = build_engine(AnalyzerSettings(engine="lexical", proposer_cost_scale=0.5, boundary_scorer=False))
    assert isinstance(scaled.proposer, EvidenceProposer)
    assert scaled.proposer.params.segment_cost == pytest.approx(
        SegmenterParams().segment_cost * DEFAULT_COST_SCALE / 2
    )
    learned = build_engine(AnalyzerSettings(engine="lexical", proposer_cost_scale=0.5))
    assert isinstance(learned.proposer, EvidenceProposer) and learned.proposer.scorer is not None
    assert learned.proposer.params.segment_cost == pytest.approx(
        SegmenterParams().segment_cost * learned.proposer.scorer.cost_scale / 2
    )
    own = SegmenterParams(segment_cost=1.0)
    explicit = build_engine(AnalyzerSettings(engine="lexical", proposer_cost_scale=0.5), own)
    assert isinstance(explicit.proposer, EvidenceProposer) and explicit.proposer.params is own


def test_request_limits_come_from_the_settings() -> None:
    """The engine carries the configured defaults and caps the servicer resolves requests against."""
    settings = AnalyzerSettings(
        engine="lexical", min_seconds=30, max_seconds=300, max_snippets=7, max_words=500
    )
    limits = request_limits(settings)
    assert (limits.min_seconds, limits.max_seconds, limits.max_snippets, limits.max_words) == (
        30,
        300,
        7,
        500,
    )
    assert build_engine(settings).limits == limits
