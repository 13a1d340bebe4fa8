"""config.postgresql: psycopg's C timestamp parser must return what Django's own loader does."""

import datetime

import pytest
from django.db import connection
from psycopg.pq import Format
from psycopg.types.datetime import TimestamptzLoader as PurePythonLoader

from config.postgresql.base import TIMESTAMPTZ_OID, UtcTimestamptzLoader
from scheduling.models import Session
from scheduling.tests.factories import SessionFactory

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the backend of PostgreSQL"),
]

INSTANTS = [
    "0001-01-01 00:00:00+00",
    "1969-12-31 23:59:59.999999+00",
    "2000-02-29 12:30:00.5+00",
    "2026-03-29 01:30:00+02",  # a daylight-saving change somewhere, written with an offset
    "9999-12-31 23:59:59.999999+00",
]


def _read(sql: str, params: list) -> list:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]


def test_the_connection_reads_timestamps_with_the_fast_loader():
    connection.ensure_connection()
    loader = connection.connection.adapters.get_loader(TIMESTAMPTZ_OID, Format.TEXT)
    assert loader is UtcTimestamptzLoader


@pytest.mark.parametrize("instant", INSTANTS)
def test_timestamps_read_as_django_reads_them(instant):
    (fast,) = _read("SELECT %s::timestamptz", [instant])
    with connection.cursor() as cursor:
        # Django's loader parses in Python, then pins the zone to UTC.
        reference = PurePythonLoader(TIMESTAMPTZ_OID, cursor.cursor)
        (text,) = _read("SELECT %s::timestamptz::text", [instant])
        expected = reference.load(text.encode()).replace(tzinfo=datetime.UTC)
    assert fast == expected
    assert fast.tzinfo is datetime.UTC


def test_a_session_round_trips_to_the_microsecond():
    start = datetime.datetime(2027, 1, 31, 23, 59, 58, 123456, tzinfo=datetime.UTC)
    session = SessionFactory(date_start=start, date_end=start + datetime.timedelta(hours=1))
    stored = Session.objects.get(pk=session.pk)
    assert stored.date_start == start
    assert stored.date_start.tzinfo is datetime.UTC
