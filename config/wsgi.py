import logging
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()


def _warn_about_process_local_cache() -> None:
    from django.conf import settings

    backend = settings.CACHES["default"]["BACKEND"]
    if not settings.DEBUG and backend.endswith("LocMemCache"):
        logging.getLogger("practica").warning(
            "REDIS_URL is not set: using a per-process memory cache, so throttling and login "
            "limits are not shared between server processes. Set REDIS_URL in production."
        )


_warn_about_process_local_cache()
