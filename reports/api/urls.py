from django.urls import path

from .views import MyAttendanceView, RegisterView

urlpatterns = [
    path("semesters/<int:pk>/register/", RegisterView.as_view(), name="semester-register"),
    path("me/attendance/", MyAttendanceView.as_view(), name="me-attendance"),
]
