from typing import Any

from django.db.models import QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema
from rest_framework import generics
from rest_framework.permissions import IsAdminUser, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from activity.models import Activity
from config.spectacular import error_responses
from config.sync import NOT_MODIFIED, SYNC_PARAMETERS, conditional_list

from .filters import ActivityFilter
from .pagination import ActivityCursorPagination
from .serializers import ActivitySerializer


def activity_rows() -> QuerySet[Activity]:
    """The rows as every history reads them: users joined, so a page is one query."""
    return Activity.objects.select_related("actor", "student")


class ActivityListView(generics.ListAPIView):
    serializer_class = ActivitySerializer
    permission_classes = [IsAuthenticated, IsAdminUser]
    pagination_class = ActivityCursorPagination
    filter_backends = [DjangoFilterBackend]
    filterset_class = ActivityFilter

    def get_queryset(self) -> QuerySet[Activity]:
        return activity_rows()

    @extend_schema(
        description="Staff: every recorded change, newest first, cursor-paginated (follow "
        "`next`). Filters: `verb`, `actor` and `student` (user ids), `session` (id), `since` "
        "(ISO 8601, inclusive; `updated_since` is the same filter under the name every list "
        "uses). An invalid filter value is a 400 naming it. Deleted sessions, semesters, "
        "groups and projects leave a `*.deleted` activity: a syncing client reads them with "
        "`?verb=session.deleted&since=` (README, Sync recipe). Answers carry `ETag` and "
        "`Last-Modified`; `If-None-Match` with the last `ETag` gets a 304 while nothing changed.",
        parameters=SYNC_PARAMETERS,
        responses={
            200: ActivitySerializer(many=True),
            **NOT_MODIFIED,
            **error_responses(400, 403),
        },
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        activities = self.filter_queryset(self.get_queryset())
        return conditional_list(self, request, activities, timestamp="created_at", append_only=True)
