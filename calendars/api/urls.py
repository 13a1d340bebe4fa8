from django.urls import path

from .views import CalendarRotateView

urlpatterns = [
    path("me/calendar/rotate/", CalendarRotateView.as_view(), name="api-me-calendar-rotate"),
]
