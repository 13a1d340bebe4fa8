"""Pagination whose cost does not grow with the page number or the table size.

Django's paginator would evaluate the page as `queryset[offset:offset + size]`,
so every annotation (the session statistics) would be computed for all the
rows the database skips over. Here the page's ids are chosen by the plain
ordered query (an index scan), and the annotated query runs for those ids only:
one statement, `WHERE id IN (SELECT id ... LIMIT n OFFSET m)`. The count
carries no annotations (Django strips unused ones).
"""

from django.core.paginator import Page, Paginator
from rest_framework.pagination import PageNumberPagination


class PageIdsFirstPaginator(Paginator):
    def page(self, number: int | str) -> Page:
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = min(bottom + self.per_page, self.count) if self.count else bottom
        queryset = self.object_list
        page_ids = queryset.values("pk")[bottom:top]
        return self._get_page(queryset.filter(pk__in=page_ids), number, self)


class StandardPagination(PageNumberPagination):
    django_paginator_class = PageIdsFirstPaginator
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500
