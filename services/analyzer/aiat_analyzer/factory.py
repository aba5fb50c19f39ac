"""The engine named by the settings, wired from its parts without I/O (its model opens in `load()`)."""

from __future__ import annotations

from dataclasses import replace

from aiat_analyzer.combine import DEFAULT_COST_SCALE, EvidenceProposer, EvidenceWeights
from aiat_analyzer.evidence import learned
from aiat_analyzer.lexical import ExtractiveRefiner
from aiat_analyzer.llm.chat import ChatBackend
from aiat_analyzer.llm.llama import LlamaBackend
from aiat_analyzer.llm.refiner import LlmRefiner
from aiat_analyzer.llm.vllm import VllmBackend
from aiat_analyzer.pipeline import PipelineEngine, PlanRefiner, RequestLimits
from aiat_analyzer.segmenter import SegmenterParams
from aiat_analyzer.settings import AnalyzerSettings


def request_limits(settings: AnalyzerSettings) -> RequestLimits:
    """The configured defaults and caps for request options."""
    return RequestLimits(
        min_seconds=settings.min_seconds,
        max_seconds=settings.max_seconds,
        max_snippets=settings.max_snippets,
        max_words=settings.max_words,
    )


def chat_backend(settings: AnalyzerSettings) -> ChatBackend:
    """The LLM backend of the llama or vllm engine (not opened yet)."""
    if settings.engine == "llama":
        return LlamaBackend(
            settings.model_path,
            settings.model_sha256,
            n_ctx=settings.n_ctx,
            n_threads=settings.n_threads,
            temperature=settings.temperature,
        )
    if settings.engine == "vllm":
        return VllmBackend(
            settings.vllm_url,
            settings.vllm_model,
            api_key=settings.vllm_api_key,
            timeout=settings.vllm_timeout,
            temperature=settings.temperature,
            parallel=settings.vllm_parallel,
            startup_timeout=settings.vllm_startup_timeout,
        )
    raise ValueError(f"unknown LLM engine {settings.engine!r}")


def build_engine(settings: AnalyzerSettings, params: SegmenterParams | None = None) -> PipelineEngine:
    """The engine named by the settings: lexical, llama (bundled GGUF model, CPU) or vllm (sidecar, GPU)."""
    scorer = learned.shipped() if settings.boundary_scorer else None
    if params is None:
        base = SegmenterParams()
        scale = (scorer.cost_scale if scorer else DEFAULT_COST_SCALE) * settings.proposer_cost_scale
        params = replace(base, segment_cost=base.segment_cost * scale)
    refiner: PlanRefiner = ExtractiveRefiner()
    if settings.engine != "lexical":
        refiner = LlmRefiner(
            chat_backend(settings),
            fallback=refiner,
            window=settings.window,
            max_tokens=settings.max_tokens,
            retries=settings.retries,
            merge=settings.merge,
            place=settings.places_boundaries,
        )
    return PipelineEngine(
        EvidenceProposer(params, evidence_weights(settings, scorer), scorer=scorer),
        refiner,
        name=settings.engine,
        limits=request_limits(settings),
    )


def evidence_weights(
    settings: AnalyzerSettings, scorer: learned.BoundaryScorer | None = None
) -> EvidenceWeights:
    """The configured weight of each kind of boundary evidence.

    With the learned boundary scorer, cues and references count through it (their features), not again.
    """
    if scorer is not None:
        return replace(evidence_weights(settings), cue=0.0, reference=0.0, meaning=0.0, learned=scorer.gain)
    return EvidenceWeights(
        meaning=settings.meaning_weight,
        pause=settings.pause_weight,
        cue=settings.cue_weight,
        slide=settings.slide_weight,
        slide_snap=settings.slide_snap_seconds,
        slide_section=settings.slide_section_weight,
        reference=settings.reference_weight,
    )
