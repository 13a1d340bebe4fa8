"""The REST API under /api/v1/ (SPEC §4): each app contributes its own routes."""

from django.urls import include, path

from scheduling.api.history import SessionHistoryView

urlpatterns = [
    path("", include("accounts.api.urls")),
    path("", include("calendars.api.urls")),
    path("", include("activity.api.urls")),
    path("sessions/<int:pk>/history/", SessionHistoryView.as_view(), name="session-history"),
    path("", include("scheduling.api.urls")),
    path("", include("bookings.api.urls")),
    path("", include("engagement.api.urls")),
    path("", include("reports.api.urls")),
    path("", include("webhooks.api.urls")),
]
