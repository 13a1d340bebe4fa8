"""Turns domain errors and Django validation errors into DRF responses, in one place.

Also the JSON answers for what never reaches a DRF view under /api/: an unmatched
path (404), a request Django itself refuses (400) and any failure the code did not
handle (500, or 503 when the database connection is lost), so that an API client
never has to parse an HTML error page.
"""

import sys
from collections import Counter
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError, OperationalError
from django.db.models import ProtectedError, RestrictedError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from rest_framework import status
from rest_framework.exceptions import ValidationError as DRFValidationError
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler

from .errors import PROTECTED, Busy, Conflict, DomainError, PermissionDenied


def domain_error_response(error: DomainError) -> Response:
    body: dict[str, Any] = {"detail": error.message, "code": error.code}
    body.update(error.extra)
    if isinstance(error, Busy):
        return Response(
            body,
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": str(error.retry_after_seconds)},
        )
    if isinstance(error, PermissionDenied):
        return Response(body, status=status.HTTP_403_FORBIDDEN)
    if isinstance(error, Conflict):
        return Response(body, status=status.HTTP_409_CONFLICT)
    return Response(body, status=status.HTTP_400_BAD_REQUEST)


def protected_conflict(error: ProtectedError | RestrictedError) -> Conflict:
    """A delete the database's PROTECT refused, for objects without a service that
    counts its blockers first: the blocking rows counted by kind."""
    objects = (
        error.protected_objects if isinstance(error, ProtectedError) else error.restricted_objects
    )
    blocking = dict(Counter(str(obj._meta.verbose_name_plural) for obj in objects))
    listed = ", ".join(f"{count} {name}" for name, count in blocking.items())
    return Conflict(
        f"It cannot be deleted: it is referenced by {listed}.", code=PROTECTED, blocking=blocking
    )


def django_validation_detail(error: DjangoValidationError) -> dict[str, list[str]]:
    """Django's `{field: [messages]}` with `__all__` renamed to DRF's `non_field_errors`."""
    if not hasattr(error, "error_dict"):
        return {api_settings.NON_FIELD_ERRORS_KEY: error.messages}
    return {
        api_settings.NON_FIELD_ERRORS_KEY if field == NON_FIELD_ERRORS else field: messages
        for field, messages in error.message_dict.items()
    }


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, ProtectedError | RestrictedError):
        exc = protected_conflict(exc)
    if isinstance(exc, DomainError):
        return domain_error_response(exc)
    if isinstance(exc, DjangoValidationError):
        exc = DRFValidationError(detail=django_validation_detail(exc))
    return exception_handler(exc, context)


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """`handler404`: JSON under /api/ (e.g. `/api/v1/sessions/1.5/`, which no route
    matches), the site's page elsewhere."""
    if _is_api(request):
        return JsonResponse({"detail": "Not found."}, status=404)
    return defaults.page_not_found(request, exception)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """`handler400`: a request Django refuses before any view (SuspiciousOperation)."""
    if _is_api(request):
        return JsonResponse({"detail": "Bad request."}, status=400)
    return defaults.bad_request(request, exception)


# A restarted or failed-over PostgreSQL is usually back within seconds.
DATABASE_RETRY_AFTER_SECONDS = 5

UNAVAILABLE_PAGE = (
    "<!doctype html><html lang=en><meta charset=utf-8><title>Service unavailable</title>"
    "<h1>Service unavailable</h1><p>The service lost its database for a moment. "
    "Please try again in a few seconds.</p></html>"
)


def is_database_unavailable(error: BaseException | None) -> bool:
    """A lost or refused database connection (a restart, a terminated backend, a
    failover), anywhere in the chain of causes. Lock timeouts and deadlocks never get
    here: service_transaction() turns them into `Busy` first."""
    seen = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, OperationalError | InterfaceError):
            return True
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return False


def server_error(request: HttpRequest) -> HttpResponse:
    """`handler500`: what Django answers for any exception nothing else handled.

    Django has already logged it with its traceback (logger `django.request`) and sent
    `got_request_exception`; this only chooses the answer. A lost database is a 503
    with Retry-After, JSON under /api/ and a small page elsewhere; any other failure
    is a JSON 500 under /api/ and Django's page elsewhere.
    """
    error = sys.exc_info()[1]
    if is_database_unavailable(error):
        headers = {"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)}
        if _is_api(request):
            return JsonResponse(
                {
                    "detail": "The database is unavailable; retry shortly.",
                    "code": "database_unavailable",
                },
                status=503,
                headers=headers,
            )
        return HttpResponse(UNAVAILABLE_PAGE, status=503, headers=headers)
    if _is_api(request):
        return JsonResponse(
            {"detail": "A server error occurred.", "code": "server_error"}, status=500
        )
    return defaults.server_error(request)
