"""Domain errors, each mapped to one HTTP status by the API."""

from __future__ import annotations


class DomainError(Exception):
    """Base: the message is shown to the client as `detail`."""

    status_code = 400


class NotFound(DomainError):
    """The addressed resource does not exist."""

    status_code = 404


class Duplicate(DomainError):
    """The contract's 400 for an upload of an already known drive link."""

    status_code = 400


class Conflict(DomainError):
    """The resource exists but is not in a state that allows the request."""

    status_code = 409


class Invalid(DomainError):
    """The request is well-formed but its values are not acceptable."""

    status_code = 422
