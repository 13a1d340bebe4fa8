"""Turns domain errors and Django validation errors into DRF responses, in one place."""

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import status
from rest_framework.exceptions import ValidationError as DRFValidationError
from rest_framework.response import Response
from rest_framework.views import exception_handler

from .errors import Busy, Conflict, DomainError, PermissionDenied


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


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DomainError):
        return domain_error_response(exc)
    if isinstance(exc, DjangoValidationError):
        detail = (
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
        exc = DRFValidationError(detail=detail)
    return exception_handler(exc, context)
