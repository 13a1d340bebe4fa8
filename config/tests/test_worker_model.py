"""One contended session does not stall the service: a live gunicorn with the production
configuration (config/gunicorn.py) on PostgreSQL.

Twenty bookings queue behind a held session lock, each waiting in a worker; an
unrelated GET must still be answered at once. With one request per process (sync
workers) the queue would take every worker and the GET would wait for the lock timeout.
"""

import http.client
import json
import threading
import time

import pytest
from django.db import connection, transaction
from rest_framework.authtoken.models import Token

from accounts.tests.factories import StaffFactory, StudentFactory
from bookings.integrity import check_integrity
from bookings.models import Booking
from bookings.services import grant_credits
from ops.local_server import GunicornServer, production_environment
from scheduling.models import Session
from scheduling.tests.factories import SessionFactory

pytestmark = [
    pytest.mark.concurrency,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="needs PostgreSQL shared with a live server"
    ),
]

QUEUED = 20
WORKERS = 3  # the production default on two cores (cores + 1), threads left at the default


def live_database_url() -> str:
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    return f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def backends_waiting_for_a_lock() -> int:
    with connection.cursor() as cursor:
        # Activity is a snapshot per transaction: take a fresh one each time.
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0]


def post_booking(port: int, key: str, session_id: int) -> tuple[int, dict]:
    client = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        client.request(
            "POST",
            "/api/v1/bookings/",
            body=json.dumps({"session": session_id}),
            headers={"Authorization": f"Token {key}", "Content-Type": "application/json"},
        )
        response = client.getresponse()
        return response.status, json.loads(response.read())
    finally:
        client.close()


def test_bookings_queued_behind_a_held_lock_do_not_delay_an_unrelated_get():
    session = SessionFactory(capacity=QUEUED)
    staff = StaffFactory()
    keys = []
    for _ in range(QUEUED):
        student = StudentFactory()
        grant_credits(student=student, amount=1, by=staff)
        keys.append(Token.objects.create(user=student).key)
    reader_key = Token.objects.create(user=StudentFactory()).key
    server = GunicornServer.started(
        # The queued bookings must still be waiting when the GET is sent.
        production_environment(live_database_url(), BOOKING_LOCK_TIMEOUT_MS="30000"),
        WORKERS,
    )
    answers: list[tuple[int, dict]] = []

    def book(key: str) -> None:
        answers.append(post_booking(server.port, key, session.pk))

    try:
        with transaction.atomic():
            Session.objects.select_for_update().get(pk=session.pk)  # a slow writer
            bookers = [threading.Thread(target=book, args=(key,)) for key in keys]
            for booker in bookers:
                booker.start()
            deadline = time.monotonic() + 30
            while backends_waiting_for_a_lock() < QUEUED:
                assert time.monotonic() < deadline, "the bookings never all queued"
                time.sleep(0.05)

            started = time.perf_counter()
            status, body = server.get("/api/v1/me/", {"Authorization": f"Token {reader_key}"})
            seconds = time.perf_counter() - started
            still_queued = backends_waiting_for_a_lock()
        for booker in bookers:
            booker.join(60)
    finally:
        errors = server.stop()

    print(f"\nGET behind {QUEUED} queued bookings: {seconds * 1000:.0f} ms")
    assert status == 200, body
    assert still_queued == QUEUED  # the GET did not wait for the queue to drain
    assert seconds < 0.5
    assert sorted(status for status, _ in answers) == [201] * QUEUED, errors[-2000:]
    assert Booking.objects.filter(session=session, status="confirmed").count() == QUEUED
    assert check_integrity() == []
