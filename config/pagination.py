"""Pagination whose cost does not grow with the page number or the table size.

Django's paginator would evaluate the page as `queryset[offset:offset + size]`,
so every annotation (the session statistics) would be computed for all the
rows the database skips over. Here the page's ids are chosen by the plain
ordered query (an index scan), and the annotated query runs for those ids only:
one statement, `WHERE id IN (SELECT id ... LIMIT n OFFSET m)`. The count
carries no annotations (Django strips unused ones).
"""

from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import BooleanField, F, Func, QuerySet, Subquery
from django.utils.functional import cached_property
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request


class InPage(Func):
    """`id IN (SELECT id ... LIMIT n OFFSET m)`, written `id = ANY(ARRAY(...))` on PostgreSQL.

    Given `IN (subquery)` for a 500-row page, PostgreSQL chose a hash semi-join that reads
    the whole session table, a cost that grows with the table. The array is computed once,
    then each of its ids is one probe of the primary key: about 1 ms less at 10,000 sessions
    (README, Performance), and the same at any size.
    """

    conditional = True
    output_field = BooleanField()
    template = "%(expressions)s"
    arg_joiner = " IN "

    def __init__(self, page_ids: QuerySet) -> None:
        super().__init__(F("pk"), Subquery(page_ids))

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list]:
        # The subquery renders in parentheses: "id = ANY(ARRAY" + "(SELECT ...)" + ")".
        return self.as_sql(
            compiler, connection, arg_joiner=" = ANY(ARRAY", template="%(expressions)s)", **extra
        )


class PageIdsFirstPaginator(Paginator):
    @cached_property
    def count(self) -> int:
        """The row count; a list that counted its rows already (config.sync's validator)
        leaves it on the queryset as `known_count`, so they are not counted twice."""
        known = getattr(self.object_list, "known_count", None)
        return known if known is not None else super().count

    def page(self, number: int | str) -> Page:
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = min(bottom + self.per_page, self.count) if self.count else bottom
        queryset = self.object_list
        if top <= bottom:  # nothing matches: page 1 is empty
            return self._get_page(queryset.none(), number, self)
        page_ids = queryset.values("pk")[bottom:top]
        return self._get_page(queryset.filter(InPage(page_ids)), number, self)


class StandardPagination(PageNumberPagination):
    django_paginator_class = PageIdsFirstPaginator
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500

    def get_page_size(self, request: Request) -> int:
        """`page_size` up to 500 (more is capped); a non-number or one below 1 is a 400,
        where DRF would silently fall back to the default size."""
        given = request.query_params.get(self.page_size_query_param)
        if given is None or given == "":
            return self.page_size
        try:
            size = int(given)
        except ValueError:
            size = 0
        if size < 1:
            raise ValidationError({self.page_size_query_param: ["Enter a whole number from 1."]})
        return min(size, self.max_page_size)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            parameter["schema"]["minimum"] = 1
            if parameter["name"] == self.page_size_query_param:
                parameter["description"] = (
                    f"Rows per page: default {self.page_size}, at most {self.max_page_size} "
                    "(a larger value is capped)."
                )
        return parameters
