"""The gRPC servicer: a request becomes engine options, engine progress and output become response events."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator

import grpc

from aiat.common.v1 import transcript_pb2
from aiat.errors import EngineError, InvalidInput
from aiat.languages import WHISPER_LANGUAGES
from aiat.limits import ConcurrencyLimiter
from aiat.streaming import Emit, abort_with, guarded_stream, run_in_thread_streaming
from aiat.transcriber.v1 import transcriber_pb2, transcriber_pb2_grpc
from aiat_transcriber.engine import TranscribeOptions, TranscriptionEngine

SERVICE_NAME = transcriber_pb2.DESCRIPTOR.services_by_name["TranscriberService"].full_name

MAX_BEAM = 20
MODELS = ("", "default", "multilingual")
# Hotwords share the decoder's prompt with the previous text (at most 223 tokens each): keep them short.
MAX_VOCABULARY_TERMS = 100
MAX_TERM_CHARS = 100
MAX_VOCABULARY_CHARS = 500

Request = transcriber_pb2.TranscribeRequest
Response = transcriber_pb2.TranscribeResponse


def options_from_request(request: Request) -> TranscribeOptions:
    """Engine options from a request; unset fields mean the engine's defaults; InvalidInput when impossible."""
    if not 0 <= request.beam_size <= MAX_BEAM:
        raise InvalidInput(f"beam_size must be between 1 and {MAX_BEAM} (0 = the default)")
    language = request.language.strip().lower()
    if language and language not in WHISPER_LANGUAGES:
        raise InvalidInput(f"unknown language code {request.language!r}")
    model = request.model.strip().lower()
    if model not in MODELS:
        raise InvalidInput(f"unknown model {request.model!r}: use one of default, multilingual (or empty)")
    vocabulary = tuple(dict.fromkeys(t for t in (" ".join(v.split()) for v in request.vocabulary) if t))
    if len(vocabulary) > MAX_VOCABULARY_TERMS or any(len(t) > MAX_TERM_CHARS for t in vocabulary):
        raise InvalidInput(
            f"vocabulary: at most {MAX_VOCABULARY_TERMS} terms of at most {MAX_TERM_CHARS} characters"
        )
    if len(", ".join(vocabulary)) > MAX_VOCABULARY_CHARS:
        raise InvalidInput(f"vocabulary: at most {MAX_VOCABULARY_CHARS} characters in all")
    return TranscribeOptions(
        model=model,
        vocabulary=vocabulary,
        language=language or None,
        beam_size=request.beam_size or None,
        vad_filter=request.vad_filter if request.HasField("vad_filter") else None,
        word_timestamps=request.word_timestamps if request.HasField("word_timestamps") else True,
        initial_prompt=request.initial_prompt or None,
    )


class TranscriberServicer(transcriber_pb2_grpc.TranscriberServiceServicer):
    """aiat.transcriber.v1.TranscriberService over one engine, with bounded concurrency."""

    def __init__(self, engine: TranscriptionEngine, limiter: ConcurrencyLimiter) -> None:
        self.engine = engine
        self.limiter = limiter

    async def Transcribe(
        self, request: Request, context: grpc.aio.ServicerContext[Request, Response]
    ) -> AsyncIterator[Response]:
        """Stream progress events, then exactly one transcript event."""
        try:
            options = options_from_request(request)
        except EngineError as exc:  # bad options: answered before taking a slot
            await abort_with(context, exc)

        def work(emit: Emit[Response], cancel: threading.Event) -> Response:
            def on_progress(done: float, total: float) -> None:
                progress = transcript_pb2.Progress(
                    done=done, total=total, unit="seconds", stage="transcribing"
                )
                emit(Response(progress=progress))

            transcript = self.engine.transcribe(request.media_path, options, on_progress, cancel)
            return Response(transcript=transcript)

        async for event in guarded_stream(context, self.limiter, lambda: run_in_thread_streaming(work)):
            yield event

    def register(self, server: grpc.aio.Server) -> None:
        """Add this servicer to a gRPC server."""
        transcriber_pb2_grpc.add_TranscriberServiceServicer_to_server(self, server)
