"""The student pages (mounted at /student/)."""

from django.urls import path

from . import views

app_name = "student"

urlpatterns = [
    path("", views.ScheduleView.as_view(), name="schedule"),
    path("sessions/<int:pk>/", views.SessionDetailView.as_view(), name="session"),
    path("sessions/<int:pk>/book/", views.BookView.as_view(), name="book"),
    path("sessions/<int:pk>/feedback/", views.FeedbackView.as_view(), name="feedback"),
    path("bookings/", views.MyBookingsView.as_view(), name="bookings"),
    path("bookings/<int:pk>/cancel/", views.CancelBookingView.as_view(), name="cancel"),
    path("credits/", views.CreditsView.as_view(), name="credits"),
    path("attendance/", views.AttendanceView.as_view(), name="attendance"),
    path("projects/", views.ProjectsView.as_view(), name="projects"),
    path("profile/", views.ProfileView.as_view(), name="profile"),
]
