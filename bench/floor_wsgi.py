"""The list floor behind the same gunicorn as the API: a bare WSGI callable around the
floor's one statement (bench/floor.py), so that `make bench` can show what HTTP and
gunicorn cost apart from Django, DRF and the ORM.

    gunicorn -c config/gunicorn.py bench.floor_wsgi:application

It answers GET /api/v1/sessions/?page=&page_size= for anyone (no authentication, no
validation beyond whole numbers): a measuring stick, never served to users.
"""

import os
import threading
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()

from django.db import connection as django_connection  # noqa: E402

from bench.floor import floor_page  # noqa: E402

VENDOR = django_connection.vendor
_local = threading.local()


def _connection() -> Any:
    """One database connection per gunicorn thread, opened on its first request."""
    if not hasattr(_local, "connection"):
        settings = django_connection.settings_dict
        if VENDOR == "postgresql":
            import psycopg

            _local.connection = psycopg.connect(
                dbname=settings["NAME"],
                user=settings["USER"],
                password=settings["PASSWORD"] or None,
                host=settings["HOST"] or None,
                port=settings["PORT"] or None,
                autocommit=True,
                options="-c jit=off",
            )
        else:
            import sqlite3

            _local.connection = sqlite3.connect(settings["NAME"])
    return _local.connection


def application(environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
    query = parse_qs(environ.get("QUERY_STRING", ""))
    try:
        page = int(query.get("page", ["1"])[0])
        page_size = int(query.get("page_size", ["50"])[0])
    except ValueError:
        start_response("400 Bad Request", [("Content-Type", "text/plain")])
        return [b"page and page_size are whole numbers\n"]
    if environ.get("PATH_INFO") == "/healthz":
        body = b"ok"
    else:
        body = floor_page(_connection(), VENDOR, page, page_size).encode()
    start_response(
        "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    )
    return [body]
