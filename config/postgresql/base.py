"""Django's PostgreSQL backend, reading timestamptz values with psycopg's C loader.

Django registers a pure-Python timestamptz loader on every connection, so that
values carry `datetime.timezone.utc` rather than the session's zone. A 500-row
session page holds 2,000 timestamps, and parsing them in Python cost about as
much as running the statement (README, Performance). When the session's time zone
is UTC, as Django sets it with USE_TZ and no per-database TIME_ZONE, psycopg's
optimised loader returns the very same values, so this backend uses it there.
"""

import datetime
from typing import Any

import psycopg
from django.db.backends.postgresql import base
from psycopg.adapt import Loader
from psycopg.pq import Format

TIMESTAMPTZ_OID = psycopg.postgres.types["timestamptz"].oid
# psycopg's default map holds the C implementation when psycopg[binary] or [c] is installed.
_FastTimestamptzLoader = psycopg.adapters.get_loader(TIMESTAMPTZ_OID, Format.TEXT)


class UtcTimestamptzLoader(Loader):
    # Django's create_cursor() compares this with the connection's zone and
    # re-registers its own loader when they differ.
    timezone = datetime.UTC

    def __init__(self, oid: int, context: Any = None) -> None:
        super().__init__(oid, context)
        self._load = _FastTimestamptzLoader(oid, context).load

    def load(self, data: Any) -> datetime.datetime:
        return self._load(data)


class DatabaseWrapper(base.DatabaseWrapper):
    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:
        connection = super().get_new_connection(conn_params)
        if self.timezone_name == "UTC" and self.timezone == datetime.UTC:
            connection.adapters.register_loader(TIMESTAMPTZ_OID, UtcTimestamptzLoader)
        return connection
