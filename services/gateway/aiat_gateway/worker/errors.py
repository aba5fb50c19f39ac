"""Why a job stopped: a failed step (retry or settle) or a job that no longer owns its row."""

from __future__ import annotations


class StepError(Exception):
    """A pipeline step failed; `permanent` says whether retrying can help."""

    def __init__(self, message: str, permanent: bool) -> None:
        super().__init__(message)
        self.permanent = permanent


class Superseded(Exception):
    """The job lost its row (a newer job, a settled status, or another delivery): stop quietly."""
