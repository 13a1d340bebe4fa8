"""The REST API under /api/v1/ (SPEC §4): each app contributes its own routes."""

from django.urls import include, path

urlpatterns = [
    path("", include("accounts.api.urls")),
    path("", include("scheduling.api.urls")),
    path("", include("bookings.api.urls")),
    path("", include("engagement.api.urls")),
]
