"""Turns domain errors and Django validation errors into DRF responses, in one place.

Also the JSON answers for what never reaches a DRF view under /api/: an unmatched
path (404) and a request Django itself refuses (400), so that an API client never
has to parse an HTML error page.
"""

from collections import Counter
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
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
