from django.apps import AppConfig


class InstructorConfig(AppConfig):
    """The instructor area's pages: a surface over the domain apps' services, no models."""

    name = "instructor"
