"""`Idempotency-Key` for the API writes that move seats or credits (SPEC §4).

A client that sends the header gets the work done once per (user, key): a
retry with the same request replays the stored response, with
`Idempotent-Replayed: true`, and does nothing else; the same key with another
request is refused with 422; a retry that cannot see the first one finish
within the lock timeout is refused with 409 `idempotency_in_flight`.

Protocol, all in ONE transaction, so the key commits or rolls back with the work:

1. Claim the key first: one `INSERT ... ON CONFLICT (user, key) DO UPDATE ...
   WHERE <the stored key has expired> RETURNING id`. A new key, or one past
   `IDEMPOTENCY_KEY_TTL_HOURS` (expired keys are never replayed), is inserted or
   taken over, and the row's lock serialises requests with the same pair: a
   second one waits on the first's uncommitted row, bounded by the service
   transaction's `lock_timeout` (a timeout means the first still runs: 409). On
   SQLite that INSERT takes the database's single write lock, which serialises
   every writer anyway.
2. No row back: the key is live. Read it: the same fingerprint replays, another
   is refused with 422.
3. Otherwise do the work, with the services' transactions joined to this one
   (no SAVEPOINT: `service_transaction(join_nested=True)`), and store its response
   on the key (one UPDATE), then commit. Successes (2xx) and domain refusals (409)
   are stored, because repeating them gives the same answer; anything else
   (invalid input, 403, 404, 503, 5xx) is rolled back with the transaction, so the
   client may retry with the same key. A refusal raised inside a service has left
   the transaction to be rolled back whole: it is, and the refusal is stored with
   its key in a transaction of its own.

Expired keys of other requests are deleted by `manage.py purge_idempotency_keys`
(from cron), not by the requests.

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


def _claim(
    *, user_id: int, key: str, endpoint: str, fingerprint: str, status: int = 0, body: Any = None
) -> int | None:
    """INSERT the key (or take over an expired one) in one statement; its id, or None when
    a live key already holds the pair. `status` 0 marks a key whose work is under way: no
    other transaction ever sees it (the response is stored before the commit).

    Precondition: in service_transaction(). A wait on another request's uncommitted key
    longer than the lock_timeout is `IdempotencyInFlight`.
    """
    table = IdempotencyKey._meta.db_table
    quote = connection.ops.quote_name
    columns = ["user_id", "key", "endpoint", "request_fingerprint", "response_status"]
    columns += ["response_body", "created_at"]
    taken_over = ", ".join(f"{quote(c)} = EXCLUDED.{quote(c)}" for c in columns[2:])
    sql = (
        f"INSERT INTO {quote(table)} ({', '.join(quote(c) for c in columns)}) "
        f"VALUES (%s, %s, %s, %s, %s, %s, %s) "
        f"ON CONFLICT ({quote('user_id')}, {quote('key')}) DO UPDATE SET {taken_over} "
        f"WHERE {quote(table)}.{quote('created_at')} < %s "
        f"RETURNING {quote('id')}"
    )
    now = timezone.now()
    expired = now - timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)
    body_field = IdempotencyKey._meta.get_field("response_body")
    params = [
        user_id,
        key,
        endpoint[:255],
        fingerprint,
        status,
        body_field.get_db_prep_save({} if body is None else body, connection),
        connection.ops.adapt_datetimefield_value(now),
        connection.ops.adapt_datetimefield_value(expired),
    ]
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            row = cursor.fetchone()
    except OperationalError as error:
        if getattr(error.__cause__, "sqlstate", None) == LOCK_NOT_AVAILABLE:
            raise IdempotencyInFlight(
                "A request with this Idempotency-Key is still being processed; retry shortly."
            ) from error
        raise
    return row[0] if row else None


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


def _stored_body(response: Response) -> Any:
    """The body as the client received it (rendered, then parsed back), so a replay carries
    the same JSON value even where the view's data held dates or decimals."""
    if response.data is None:
        return Value(None, JSONField())
    return json.loads(JSONRenderer().render(response.data))


def run_once(
    *, user: User, key: str, endpoint: str, fingerprint: str, work: Callable[[], Response]
) -> Response:
    """Run `work` at most once per (user, key); see the module docstring for the protocol."""
    claim = {"user_id": user.pk, "key": key, "endpoint": endpoint, "fingerprint": fingerprint}
    with service_transaction(join_nested=True):
        claimed = _claim(**claim)
        if claimed is None:
            stored = IdempotencyKey.objects.filter(user_id=user.pk, key=key).first()
            if stored is None:  # Purged between the two statements: as good as running.
                raise IdempotencyInFlight("This Idempotency-Key is changing; retry shortly.")
            if stored.request_fingerprint != fingerprint:
                return _reused()
            return _replay(stored)
        response = work()
        if not _is_stored(response):
            transaction.set_rollback(True)
            return response
        refused_inside_a_service = connection.needs_rollback
        if not refused_inside_a_service:
            IdempotencyKey.objects.filter(pk=claimed).update(
                response_status=response.status_code, response_body=_stored_body(response)
            )
            return response
    # The service's refusal left the transaction to roll back whole (there was no
    # savepoint to undo only its writes); the refusal is stored on its own.
    body = None if response.data is None else json.loads(JSONRenderer().render(response.data))
    with service_transaction():
        _claim(**claim, status=response.status_code, body=body)
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
