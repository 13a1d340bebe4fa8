from rest_framework.pagination import CursorPagination


class ActivityCursorPagination(CursorPagination):
    """Newest first; a cursor, not a page number, so new rows never shift a page under a
    reader and a deep page costs what the first does (an index range scan)."""

    ordering = ("-created_at", "-id")
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500
