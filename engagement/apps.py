from django.apps import AppConfig

# The app's error codes are declared on import (config.errors.ERROR_CODES and the
# constraint codes); loading them with the app makes them known before any request.
from . import errors  # noqa: F401


class EngagementConfig(AppConfig):
    name = "engagement"
