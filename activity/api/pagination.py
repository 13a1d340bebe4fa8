from typing import Any

from rest_framework.pagination import CursorPagination

from config.pagination import StandardPagination


class ActivityCursorPagination(CursorPagination):
    """Newest first; a cursor, not a page number, so new rows never shift a page under a
    reader and a deep page costs what the first does (an index range scan)."""

    ordering = ("-created_at", "-id")
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500

    # The API's one rule for `page_size`: a non-number or one below 1 is a 400, not ignored.
    get_page_size = StandardPagination.get_page_size

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"]["minimum"] = 1
                parameter["description"] = (
                    f"Rows per page: default {self.page_size}, at most {self.max_page_size} "
                    "(a larger value is capped)."
                )
        return parameters
