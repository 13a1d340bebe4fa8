"""`GET /api/v1/sessions/{id}/history/`: a session's activity for those who run it.

Here, not in the activity app, because who may see a session's history is a
scheduling rule; the activity app below knows nothing of sessions.
"""

from typing import Any

from django.db.models import QuerySet
from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import generics

from activity.api.pagination import ActivityCursorPagination
from activity.api.serializers import ActivitySerializer
from activity.api.views import activity_rows
from activity.models import Activity
from scheduling.models import Session
from scheduling.services import can_view_roster


class SessionHistoryView(generics.ListAPIView):
    serializer_class = ActivitySerializer
    pagination_class = ActivityCursorPagination
    filter_backends: list = []

    def get_queryset(self) -> QuerySet[Activity]:
        if getattr(self, "swagger_fake_view", False):
            return Activity.objects.none()
        session = Session.objects.select_related("semester").filter(pk=self.kwargs["pk"]).first()
        # A stranger learns nothing, not even that the session exists.
        if session is None or not can_view_roster(self.request.user, session):
            raise Http404
        return activity_rows().for_session(session.pk)

    @extend_schema(
        operation_id="sessions_history",
        description="The session's activity, newest first, cursor-paginated: staff, the "
        "session's instructor and the semester's master instructor; 404 for anyone else.",
        responses={200: ActivitySerializer(many=True)},
    )
    def get(self, *args: Any, **kwargs: Any) -> Any:
        return super().get(*args, **kwargs)
