from django.apps import AppConfig


class ReportsConfig(AppConfig):
    """The attendance register, the semester dashboard and their exports: a surface, no models."""

    name = "reports"
