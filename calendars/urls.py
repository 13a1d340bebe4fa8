from django.urls import path

from . import views

app_name = "calendar"

urlpatterns = [
    path("rotate/", views.CalendarRotatePageView.as_view(), name="rotate"),
    path("sessions/<int:pk>.ics", views.SessionIcsView.as_view(), name="session-ics"),
    # token_urlsafe: letters, digits, "-" and "_".
    path("<slug:token>.ics", views.FeedView.as_view(), name="feed"),
]
