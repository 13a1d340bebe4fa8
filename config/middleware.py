"""Refusals made before any view runs."""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

from .errors import REQUEST_TOO_LARGE


class RequestBodyLimitMiddleware:
    """Answer 413 to a body longer than DATA_UPLOAD_MAX_MEMORY_SIZE, before it is read.

    Django applies that limit only when it parses a form (`request.POST`) or reads
    `request.body`; DRF's JSON parser reads the request as a stream, so without this a
    JSON body of any size would be read into memory and parsed. The declared
    Content-Length is enough: Django never reads past it (a body without one reads as
    empty).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if limit is not None and length > limit:
            return JsonResponse(
                {
                    "detail": f"The request body is larger than {limit} bytes.",
                    "code": REQUEST_TOO_LARGE,
                },
                status=413,
            )
        return self.get_response(request)
