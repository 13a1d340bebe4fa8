"""The reports pages: the register (page, CSV, XLSX) and the dashboard of a semester."""

from django.urls import path

from . import views

app_name = "reports"

urlpatterns = [
    path("", views.ReportsIndexView.as_view(), name="index"),
    path("semesters/<int:pk>/register/", views.RegisterView.as_view(), name="register"),
    path(
        "semesters/<int:pk>/register.csv",
        views.RegisterDownloadView.as_view(extension="csv"),
        name="register-csv",
    ),
    path(
        "semesters/<int:pk>/register.xlsx",
        views.RegisterDownloadView.as_view(extension="xlsx"),
        name="register-xlsx",
    ),
    path("semesters/<int:pk>/dashboard/", views.DashboardView.as_view(), name="dashboard"),
]
