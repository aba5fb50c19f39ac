"""Errors every engine raises, each mapped to one gRPC status code by the service layer."""

from __future__ import annotations

import grpc


class EngineError(Exception):
    """Base of the errors an engine raises on purpose; the message is shown to the user."""

    code: grpc.StatusCode = grpc.StatusCode.INTERNAL


class InvalidInput(EngineError):
    """The request or its media is unusable (unreadable media, bad range, empty transcript)."""

    code = grpc.StatusCode.INVALID_ARGUMENT


class MediaNotFound(EngineError):
    """A media file named by the request does not exist in the store."""

    code = grpc.StatusCode.NOT_FOUND


class Overloaded(EngineError):
    """The replica's queue is full; the caller should retry later or elsewhere."""

    code = grpc.StatusCode.RESOURCE_EXHAUSTED


class DiskFull(EngineError):
    """A file could not be written: the store's filesystem is full (ENOSPC) or a size limit was hit (EFBIG)."""

    code = grpc.StatusCode.RESOURCE_EXHAUSTED


class Cancelled(EngineError):
    """The work was stopped because the caller went away or its deadline passed."""

    code = grpc.StatusCode.CANCELLED


class EngineUnavailable(EngineError):
    """The engine is not loaded (yet) or failed to load."""

    code = grpc.StatusCode.UNAVAILABLE


class StartupError(RuntimeError):
    """The service cannot start (a model missing, a backend unreachable); the process exits with code 2."""
