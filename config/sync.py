"""Conditional GETs for the API lists: `ETag`, `Last-Modified` and 304 before rendering.

A list's validator comes from one aggregate statement over the filtered rows
(for the append-only activity log, its newest row):
the newest `updated_at`, the row count, and the newest activity id of the whole
log. The activity id is there because a list shows more than its rows' own
columns (a session's statistics, a booking's waitlist position) and because a
row can leave a list without changing: every service records an activity
(issue 11), so any change anywhere gives every list a new tag. That costs a few
needless 200s and never a wrong 304. The tag also covers the caller, the full
query string (page, filters) and the negotiated media type.

`Last-Modified` is the newest `updated_at` among the rows, the value to pass as
the next `updated_since`. `If-Modified-Since` alone is not honoured (a removed
row moves no timestamp): clients revalidate with `If-None-Match`.
"""

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.paginator import InvalidPage
from django.db.models import Count, Max, QuerySet, Subquery
from django.utils.cache import parse_etags
from django.utils.http import http_date
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework.exceptions import NotFound
from rest_framework.pagination import CursorPagination, PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response

from activity.models import Activity

IF_NONE_MATCH = OpenApiParameter(
    "If-None-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="The `ETag` of an earlier answer to the same URL: 304 with no body while "
    "the list is unchanged.",
)

# Response headers (OpenApiParameter with `response=`: documented on those answers).
ETAG = OpenApiParameter(
    "ETag",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="A weak validator of this list for this caller and query string.",
    response=[200, 304],
)
LAST_MODIFIED = OpenApiParameter(
    "Last-Modified",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="The newest `updated_at` among the rows (HTTP date): the next `updated_since`.",
    response=[200, 304],
)
SYNC_PARAMETERS = [IF_NONE_MATCH, ETAG, LAST_MODIFIED]

NOT_MODIFIED = {
    304: OpenApiResponse(
        description="Not modified: the `ETag` sent in `If-None-Match` is still current."
    )
}

LIST_VALIDATOR_DESCRIPTION = (
    " Incremental sync: `updated_since` (ISO 8601, inclusive) keeps the rows changed at or "
    "after it; answers carry `ETag` and `Last-Modified` (the newest `updated_at` shown), and "
    "`If-None-Match` with the last `ETag` gets a 304 while nothing changed (README, Sync recipe)."
)


@dataclass(frozen=True)
class ListValidator:
    etag: str
    last_modified: datetime | None
    rows: int | None

    def apply(self, response: Response) -> Response:
        response["ETag"] = self.etag
        if self.last_modified is not None:
            response["Last-Modified"] = http_date(self.last_modified.timestamp())
        return response


def list_validator(
    queryset: QuerySet,
    request: Request,
    *,
    timestamp: str = "updated_at",
    append_only: bool = False,
) -> ListValidator:
    """The list's validator, in one statement over the filtered rows.

    An append-only list (the activity log) changes only by gaining rows, so its newest
    row names its state: one index probe, where a count would read the whole log.
    """
    if append_only:
        newest = queryset.order_by(f"-{timestamp}", "-pk").values_list(timestamp, "pk").first()
        latest, state = (newest[0], f"newest {newest[1]}") if newest else (None, "empty")
        rows = None
    else:
        newest_activity = Activity.objects.order_by("-id").values("id")[:1]
        figures = queryset.order_by().aggregate(
            latest=Max(timestamp),
            rows=Count("pk"),
            # An uncorrelated scalar subquery: evaluated once, one probe of the primary key.
            watermark=Max(Subquery(newest_activity)),
        )
        latest, rows = figures["latest"], figures["rows"]
        state = f"{rows} rows, activity {figures['watermark']}"
    parts = [
        str(request.user.pk),
        request.get_full_path(),
        str(getattr(request, "accepted_media_type", "")),
        latest.isoformat() if latest else "-",
        state,
    ]
    digest = hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]
    # Weak: the same rows, not necessarily the same bytes (compression, key order).
    return ListValidator(etag=f'W/"{digest}"', last_modified=latest, rows=rows)


def is_fresh(request: Request, validator: ListValidator) -> bool:
    """If-None-Match names the validator's tag (weak comparison, as RFC 9110 asks for GET)."""
    given = request.headers.get("If-None-Match")
    if not given:
        return False
    tags = parse_etags(given)
    if "*" in tags:
        return True
    bare = validator.etag.removeprefix("W/")
    return any(tag.removeprefix("W/") == bare for tag in tags)


def check_paging(paginator: Any, request: Request, rows: QuerySet) -> None:
    """Raise what paginating `rows` would raise (400 for a bad page_size, 404 for a page or
    cursor that does not exist), without reading the page."""
    if paginator is None:
        return
    page_size = paginator.get_page_size(request)
    if isinstance(paginator, CursorPagination):
        paginator.decode_cursor(request)
    elif isinstance(paginator, PageNumberPagination):
        numbers = paginator.django_paginator_class(rows, page_size)
        number = request.query_params.get(paginator.page_query_param) or 1
        if number in paginator.last_page_strings:
            number = numbers.num_pages
        try:
            numbers.validate_number(number)
        except InvalidPage as error:
            raise NotFound(
                paginator.invalid_page_message.format(page_number=number, message=str(error))
            ) from error


def conditional_list(
    view: Any,
    request: Request,
    queryset: QuerySet,
    *,
    rows: QuerySet | None = None,
    timestamp: str = "updated_at",
    append_only: bool = False,
) -> Response:
    """A list view's answer: 304 when the client's tag is current (nothing rendered), else
    the page, both with the validator's headers. `queryset` is the filtered list; `rows`
    the same list in the form the page reads (named tuples for sessions), if different."""
    validator = list_validator(queryset, request, timestamp=timestamp, append_only=append_only)
    rows = queryset.all() if rows is None else rows
    # The page-number paginator reads it instead of counting the rows again.
    rows.known_count = validator.rows
    if is_fresh(request, validator):
        # A 304 only for a request that would have had a 200: the same paging errors.
        check_paging(view.paginator, request, rows)
        return validator.apply(Response(status=304))
    page = view.paginate_queryset(rows)
    response = view.get_paginated_response(view.get_serializer(page, many=True).data)
    return validator.apply(response)
