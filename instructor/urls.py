"""The instructor area's pages (SPEC §5)."""

from django.urls import path
from django.views.generic import RedirectView

from . import views

app_name = "instructor"

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="instructor:session-list"), name="home"),
    path("sessions/", views.SessionListView.as_view(), name="session-list"),
    path("sessions/new/", views.SessionCreateView.as_view(), name="session-create"),
    path("sessions/new/preview/", views.SessionPreviewView.as_view(), name="session-preview"),
    path("sessions/<int:pk>/", views.SessionDetailView.as_view(), name="session-detail"),
    path("sessions/<int:pk>/edit/", views.SessionUpdateView.as_view(), name="session-update"),
    path("sessions/<int:pk>/delete/", views.SessionDeleteView.as_view(), name="session-delete"),
    path("sessions/<int:pk>/cancel/", views.SessionCancelView.as_view(), name="session-cancel"),
    path(
        "sessions/<int:pk>/sign-in-sheet/",
        views.SignInSheetView.as_view(),
        name="session-sign-in-sheet",
    ),
    path("sessions/<int:pk>/roster.csv", views.RosterCsvView.as_view(), name="session-roster-csv"),
    path(
        "sessions/<int:pk>/duplicate/",
        views.SessionDuplicateView.as_view(),
        name="session-duplicate",
    ),
    path("sessions/series/<int:pk>/", views.SeriesDetailView.as_view(), name="series-detail"),
    path("sessions/series/<int:pk>/edit/", views.SeriesEditView.as_view(), name="series-edit"),
    path(
        "sessions/series/<int:pk>/cancel/", views.SeriesCancelView.as_view(), name="series-cancel"
    ),
    path(
        "sessions/<int:pk>/attendance/",
        views.AttendanceView.as_view(),
        name="session-attendance",
    ),
]
