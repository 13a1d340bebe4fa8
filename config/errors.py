"""The base of every app's domain error: a stable code the surfaces translate.

The API turns these into HTTP in `config.exceptions`, the pages into messages.
"""

from typing import Any


class DomainError(Exception):
    """A rule refused an action. `code` is stable and part of the API contract."""

    code: str = "refused"

    def __init__(self, message: str, *, code: str | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.extra = extra


class Conflict(DomainError):
    """The current state refuses the action (HTTP 409)."""


class PermissionDenied(DomainError):
    """The actor may not do this (HTTP 403)."""

    code = "permission_denied"


class Busy(DomainError):
    """A row lock could not be had in time; the caller should retry (HTTP 503)."""

    code = "busy"
    retry_after_seconds = 2
