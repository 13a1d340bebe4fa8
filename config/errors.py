"""The base of every app's domain error: a stable code the surfaces translate.

The API turns these into HTTP in `config.exceptions`, the pages into messages.
"""

from typing import Any

# Every stable error code with a one-line meaning: the API schema and the README list
# them. Each app declares its own in its `errors.py` (`error_code`); config declares
# only the codes of the base types and of the requests it answers itself.
ERROR_CODES: dict[str, str] = {}
# Database constraint name -> the code its violation answers with, declared by the
# app that owns the rule; `config.atomic` reads it.
CONSTRAINT_CODES: dict[str, str] = {}


def error_code(code: str, meaning: str, *, constraints: tuple[str, ...] = ()) -> str:
    """Declare a stable error code (part of the API contract) and return it."""
    if ERROR_CODES.get(code, meaning) != meaning:
        raise ValueError(f"Error code {code!r} is declared twice with different meanings.")
    ERROR_CODES[code] = meaning
    for constraint in constraints:
        CONSTRAINT_CODES[constraint] = code
    return code


REFUSED = error_code("refused", "A rule refused the action (a generic refusal).")
PERMISSION_DENIED = error_code("permission_denied", "The caller may not do this (403).")
BUSY = error_code("busy", "A contended row could not be locked in time; retry (503).")
PROTECTED = error_code(
    "protected", "Other rows refer to the object; the body's blocking counts them by relation."
)
CONSTRAINT_VIOLATED = error_code(
    "constraint_violated", "The database refused the change (a constraint without a code)."
)
REQUEST_TOO_LARGE = error_code("request_too_large", "The request body is too large (413).")
LOGIN_LOCKED_OUT = error_code("login_locked_out", "Too many failed logins; wait (429).")


class DomainError(Exception):
    """A rule refused an action. `code` is stable and part of the API contract."""

    code: str = REFUSED

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

    code = PERMISSION_DENIED


class Busy(DomainError):
    """A row lock could not be had in time; the caller should retry (HTTP 503)."""

    code = BUSY
    retry_after_seconds = 2
