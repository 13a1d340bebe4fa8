"""`Idempotency-Key` for the API writes that move seats or credits (SPEC §4).

A client that sends the header gets the work done once per (user, key): a
retry with the same request replays the stored response, with
`Idempotent-Replayed: true`, and does nothing else; the same key with another
request is refused with 422; a retry that cannot see the first one finish
within the lock timeout is refused with 409 `idempotency_in_flight`.

Protocol, all in ONE transaction, so the key commits or rolls back with the work:

1. Serialise on the (user, key) pair: on PostgreSQL a transaction-scoped
   advisory lock, bounded by the service transaction's `lock_timeout` (a timeout
   means another request with the key is still running: 409); on SQLite the
   purge below is a write statement, and a write takes the database's single
   write lock, which serialises every writer anyway.
2. Purge the user's keys older than `IDEMPOTENCY_KEY_TTL_HOURS`: expired keys
   are ignored and never replayed.
3. Look the key up: found with the same fingerprint, replay; with another, 422.
4. Otherwise do the work and store its response with the key, then commit.
   Successes (2xx) and domain refusals (409) are stored, because repeating them
   gives the same answer; anything else (invalid input, 403, 404, 503, 5xx) is
   rolled back with the transaction, so the client may retry with the same key.

Use it on a DRF view method (a viewset action or `post`) with the
`@idempotent` decorator, under `@action`, and document the header with
`IDEMPOTENCY_PARAMETERS` and `IDEMPOTENCY_RESPONSES` in `extend_schema`.
"""

import functools
import hashlib
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import OperationalError, connection, transaction
from django.db.models import JSONField, Value
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import User
from config.atomic import LOCK_NOT_AVAILABLE, service_transaction
from config.errors import Conflict
from config.spectacular import error_response
from config.text import unstorable_character

from .errors import IDEMPOTENCY_IN_FLIGHT, IDEMPOTENCY_KEY_REUSED
from .models import IdempotencyKey

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255


class IdempotencyInFlight(Conflict):
    """Another request with the same key still holds it (HTTP 409)."""

    code = IDEMPOTENCY_IN_FLIGHT


IDEMPOTENCY_PARAMETER = OpenApiParameter(
    name=HEADER,
    type={"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH},
    location=OpenApiParameter.HEADER,
    required=False,
    description=(
        "1 to 255 characters of UTF-8 text, unique per request you mean to make once. "
        "Kept per user for 24 hours: a retry with the same key and body replays the first "
        "response (with the header `Idempotent-Replayed: true`) without doing the work "
        "again; the same key with another body is refused with 422; a retry while the "
        "first request still runs gets 409 `idempotency_in_flight`."
    ),
)

REPLAYED_PARAMETER = OpenApiParameter(
    name=REPLAYED_HEADER,
    type=OpenApiTypes.STR,
    location=OpenApiParameter.HEADER,
    enum=["true"],
    response=[200, 201, 409],
    description="`true` when this is the stored response to an earlier request with the same "
    "Idempotency-Key, replayed without doing the work again; absent otherwise.",
)

# The request header and the response header, for `extend_schema(parameters=...)`.
IDEMPOTENCY_PARAMETERS = [IDEMPOTENCY_PARAMETER, REPLAYED_PARAMETER]

# The answers the mechanism itself adds to an operation (merge after the view's own).
IDEMPOTENCY_RESPONSES = {
    400: error_response(
        400, description="Invalid input, or an Idempotency-Key over 255 characters."
    ),
    409: error_response(
        409,
        description="The current state refuses the request (`code` says why), or a request "
        "with the same Idempotency-Key is still running (`idempotency_in_flight`).",
    ),
    422: error_response(
        422,
        description="The Idempotency-Key was already used with a different request "
        "(`idempotency_key_reused`).",
    ),
    503: error_response(503),
}


def lock_name(user_id: int, key: str) -> str:
    """The text whose hash names the advisory lock of a (user, key) pair."""
    return f"idempotency:{user_id}:{key}"


def request_fingerprint(method: str, path: str, data: Any) -> str:
    """sha256 of the method, the path and the body as canonical JSON (sorted keys)."""
    if hasattr(data, "lists"):  # A form-encoded QueryDict: keep repeated fields.
        data = dict(data.lists())
    body = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(f"{method.upper()}\n{path}\n{body}".encode()).hexdigest()


def purge_expired(*, user_id: int | None = None) -> int:
    """Delete keys older than the TTL (one user's, or everyone's); returns how many."""
    cutoff = timezone.now() - timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)
    keys = IdempotencyKey.objects.filter(created_at__lt=cutoff)
    if user_id is not None:
        keys = keys.filter(user_id=user_id)
    deleted, _ = keys.delete()
    return deleted


def _lock_key(user_id: int, key: str) -> None:
    """Serialise requests with one (user, key) pair. Precondition: in service_transaction()."""
    if connection.vendor != "postgresql":
        return  # The purge that follows takes SQLite's write lock.
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [lock_name(user_id, key)]
            )
    except OperationalError as error:
        if getattr(error.__cause__, "sqlstate", None) == LOCK_NOT_AVAILABLE:
            raise IdempotencyInFlight(
                "A request with this Idempotency-Key is still being processed; retry shortly."
            ) from error
        raise


def _is_stored(response: Response) -> bool:
    return status.is_success(response.status_code) or response.status_code == 409


def _replay(stored: IdempotencyKey) -> Response:
    return Response(
        stored.response_body,
        status=stored.response_status,
        headers={REPLAYED_HEADER: "true"},
    )


def _reused() -> Response:
    return Response(
        {
            "detail": "This Idempotency-Key was already used with a different request.",
            "code": IDEMPOTENCY_KEY_REUSED,
        },
        status=status.HTTP_422_UNPROCESSABLE_ENTITY,
    )


def run_once(
    *, user: User, key: str, endpoint: str, fingerprint: str, work: Callable[[], Response]
) -> Response:
    """Run `work` at most once per (user, key); see the module docstring for the protocol."""
    with service_transaction():
        _lock_key(user.pk, key)
        purge_expired(user_id=user.pk)
        stored = IdempotencyKey.objects.filter(user_id=user.pk, key=key).first()
        if stored is not None:
            if stored.request_fingerprint != fingerprint:
                return _reused()
            return _replay(stored)
        response = work()
        if not _is_stored(response):
            transaction.set_rollback(True)
            return response
        # Stored as the client received it (rendered, then parsed back), so a replay
        # carries the same JSON value even where the view's data held dates or decimals.
        body = (
            json.loads(JSONRenderer().render(response.data)) if response.data is not None else None
        )
        IdempotencyKey.objects.create(
            user_id=user.pk,
            key=key,
            endpoint=endpoint[:255],
            request_fingerprint=fingerprint,
            response_status=response.status_code,
            response_body=body if body is not None else Value(None, JSONField()),
        )
        return response


def key_from_header(raw: str) -> str:
    """The key as the client wrote it: 1 to MAX_KEY_LENGTH characters of UTF-8 text.

    WSGI hands header values over as latin-1 strings, one character per byte: "é" sent
    as UTF-8 arrives as two characters. Encoding back to those bytes and decoding them
    as UTF-8 recovers what was sent, so the limit counts characters, as documented.
    """
    try:
        key = raw.encode("latin-1").decode("utf-8")
    except UnicodeError:
        raise ValidationError({HEADER: ["Send the key as UTF-8 text."]}) from None
    if not 1 <= len(key) <= MAX_KEY_LENGTH:
        raise ValidationError({HEADER: [f"Use 1 to {MAX_KEY_LENGTH} characters."]})
    if problem := unstorable_character(key):
        raise ValidationError({HEADER: [f"The key {problem}"]})
    return key


def idempotent(handler: Callable[..., Response]) -> Callable[..., Response]:
    """Make a DRF view method honour the Idempotency-Key header.

    The method runs after authentication and permission checks, inside the
    key's transaction; the services it calls nest their own transactions in it.
    """

    @functools.wraps(handler)
    def wrapper(view: Any, request: Request, *args: Any, **kwargs: Any) -> Response:
        raw = request.headers.get(HEADER)
        if raw is None or not request.user.is_authenticated:
            return handler(view, request, *args, **kwargs)
        key = key_from_header(raw)

        def work() -> Response:
            try:
                return handler(view, request, *args, **kwargs)
            except Exception as exc:
                # The refusal becomes a response here, so that it can be stored
                # with the key; what DRF does not handle is raised again (5xx).
                return view.handle_exception(exc)

        return run_once(
            user=request.user,
            key=key,
            endpoint=request.path,
            fingerprint=request_fingerprint(request.method, request.path, request.data),
            work=work,
        )

    return wrapper
