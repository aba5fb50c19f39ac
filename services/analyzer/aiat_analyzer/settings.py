"""Analyzer settings, read from `AIAT_ANALYZER_*` environment variables."""

from __future__ import annotations

from pathlib import Path

from pydantic import model_validator
from pydantic_settings import SettingsConfigDict

from aiat.settings import GrpcServiceSettings
from aiat_analyzer.model_files import MODEL_SHA256
from aiat_analyzer.weights import DEFAULT_WEIGHTS

ENGINES = ("lexical", "llama", "vllm")


class AnalyzerSettings(GrpcServiceSettings):
    """Engine choice, input limits, the default snippet length range and the LLM backends."""

    model_config = SettingsConfigDict(env_prefix="AIAT_ANALYZER_", extra="ignore", populate_by_name=True)

    port: int = 50052

    # lexical: no model; llama: the bundled GGUF model in-process (CPU); vllm: a `vllm serve` sidecar (GPU).
    engine: str = "llama"
    # Longest transcript accepted, in words (~11 h of speech at 150 words a minute).
    max_words: int = 100_000
    # Snippet length range when the request leaves it at 0: long enough to hold one idea,
    # short enough to watch as a clip; lecture topics mostly run 1-10 minutes.
    min_seconds: float = 60.0
    max_seconds: float = 600.0
    # Hard cap on snippets per plan; a request may ask for fewer.
    max_snippets: int = 100

    # LLM refiner (both backends).
    window: int = 8  # candidate segments per model call
    max_tokens: int = 1200  # cap on the tokens one call may generate
    temperature: float = 0.0
    retries: int = 1  # extra attempts after invalid output, then the extractive labels
    # Let the model merge a candidate into the previous one ("same topic"). Off: the bundled 1.5B model
    # answers "same topic" for nearly every pair (docs/benchmarks.md, Analyzer); try it with bigger models.
    merge: bool = False
    # Scales the proposer's per-segment cost: below 1 proposes more, shorter candidates for the model to merge.
    proposer_cost_scale: float = 1.0
    # Let the model move or drop the proposer's cuts among nearby sentence starts (cues, pauses, slide
    # changes) before labelling. Unset: on for vllm (a 7-8B model), off for llama, where the bundled 1.5B
    # model's placements measured worse (docs/benchmarks.md, Analyzer).
    llm_places_boundaries: bool | None = None

    # Boundary evidence beside word repetition, each in per-segment costs (0 = off): a shift in sentence
    # meaning (all-MiniLM-L6-v2), a pause before a sentence, a discourse cue opening it ("OK, let's now"),
    # a slide change, and a penalty for starting at a sentence that refers back ("as we saw", "this equation").
    meaning_weight: float = DEFAULT_WEIGHTS.meaning
    pause_weight: float = DEFAULT_WEIGHTS.pause
    cue_weight: float = DEFAULT_WEIGHTS.cue
    slide_weight: float = DEFAULT_WEIGHTS.slide
    slide_snap_seconds: float = DEFAULT_WEIGHTS.slide_snap  # move a cut to a slide change this near
    slide_section_weight: float = DEFAULT_WEIGHTS.slide_section  # a slide showing only its title
    reference_weight: float = DEFAULT_WEIGHTS.reference
    # The learned boundary scorer (evidence/learned.py, fitted on the physics lectures) in place of the cue
    # and reference weights; off: those weights and DEFAULT_COST_SCALE, as before it.
    boundary_scorer: bool = True
    # Slide detection in the request's video (media_path): on/off, frames sampled per second, OCR of titles.
    slides: bool = True
    slide_sample_fps: float = 1.0
    slide_ocr: bool = True

    # llama: the joined GGUF file (default: ~/.cache/aiat/models), its expected sha256 ("" = do not check).
    model_path: Path | None = None
    model_sha256: str = MODEL_SHA256
    n_ctx: int = 4096
    n_threads: int = 0  # 0 = every CPU core

    # vllm: the OpenAI-compatible server and the model it serves.
    vllm_url: str = "http://127.0.0.1:8001/v1"
    vllm_model: str = "Qwen/Qwen2.5-7B-Instruct"
    vllm_api_key: str = ""
    vllm_timeout: float = 120.0  # seconds per request
    vllm_startup_timeout: float = 600.0  # how long start-up waits for the server to list the model
    vllm_parallel: int = 8  # windows in flight at once

    @property
    def places_boundaries(self) -> bool:
        """Whether the LLM places the cuts: the setting, else on for vllm only."""
        if self.llm_places_boundaries is None:
            return self.engine == "vllm"
        return self.llm_places_boundaries

    @model_validator(mode="after")
    def _consistent(self) -> AnalyzerSettings:
        if self.engine not in ENGINES:
            raise ValueError(f"unknown analyzer engine {self.engine!r} (available: {', '.join(ENGINES)})")
        if not 0 < self.min_seconds < self.max_seconds:
            raise ValueError("need 0 < min_seconds < max_seconds")
        if self.max_words < 1 or self.max_snippets < 1:
            raise ValueError("max_words and max_snippets must be at least 1")
        if self.window < 1 or self.max_tokens < 64 or self.n_ctx < 1024 or self.vllm_parallel < 1:
            raise ValueError("need window >= 1, max_tokens >= 64, n_ctx >= 1024, vllm_parallel >= 1")
        weights = (
            self.meaning_weight,
            self.pause_weight,
            self.cue_weight,
            self.slide_weight,
            self.reference_weight,
            self.slide_snap_seconds,
            self.slide_section_weight,
        )
        if min(weights) < 0 or not 0 < self.slide_sample_fps <= 10:
            raise ValueError("evidence weights must not be negative; need 0 < slide_sample_fps <= 10")
        if self.retries < 0 or self.temperature < 0 or self.proposer_cost_scale <= 0:
            raise ValueError(
                "retries and temperature must not be negative; proposer_cost_scale must be positive"
            )
        return self
