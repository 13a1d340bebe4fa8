"""What a client gets when the code fails: never Django's HTML 500 page under /api/.

A lost database connection (a restart, a terminated backend, a failover) is a 503 with
Retry-After: JSON for the API, a small page for the site. Any other unhandled failure
under /api/ is a JSON 500, logged with its traceback. The PostgreSQL test terminates a
real backend while its request waits for a lock.
"""

import logging
import threading
import time
from unittest import mock

import pytest
from django.db import OperationalError, connection, transaction
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounts.tests.factories import InstructorFactory, StaffFactory, StudentFactory
from bookings.models import Booking
from bookings.services import grant_credits
from config.exceptions import DATABASE_RETRY_AFTER_SECONDS
from scheduling.models import Session
from scheduling.tests.factories import SessionFactory

pytestmark = pytest.mark.django_db

LOST = OperationalError("terminating connection due to administrator command")


def client_of(user) -> APIClient:
    # Django's test client re-raises a view's exception by default; a real client
    # only ever sees the response.
    client = APIClient(raise_request_exception=False)
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def assert_database_unavailable(response) -> None:
    assert response.status_code == 503, response.content
    assert response["Content-Type"] == "application/json"
    assert response["Retry-After"] == str(DATABASE_RETRY_AFTER_SECONDS)
    assert response.json() == {
        "detail": "The database is unavailable; retry shortly.",
        "code": "database_unavailable",
    }


def test_a_lost_database_connection_is_a_json_503_on_the_api():
    client = client_of(StudentFactory())
    with mock.patch("bookings.api.views.book_session", side_effect=LOST):
        response = client.post("/api/v1/bookings/", {"session": SessionFactory().pk})
    assert_database_unavailable(response)


def test_a_lost_database_connection_is_a_small_503_page_on_the_site(client):
    client.raise_request_exception = False
    client.force_login(InstructorFactory())
    with mock.patch("instructor.views.SessionListView.get_queryset", side_effect=LOST):
        response = client.get("/sessions/")
    assert response.status_code == 503
    assert response["Content-Type"].startswith("text/html")
    assert response["Retry-After"] == str(DATABASE_RETRY_AFTER_SECONDS)
    assert b"Service unavailable" in response.content


def test_any_unexpected_error_on_the_api_is_a_logged_json_500(caplog):
    client = client_of(StudentFactory())
    with (
        caplog.at_level(logging.ERROR, logger="django.request"),
        mock.patch("bookings.api.views.book_session", side_effect=RuntimeError("boom")),
    ):
        response = client.post("/api/v1/bookings/", {"session": SessionFactory().pk})

    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "A server error occurred.", "code": "server_error"}
    (record,) = [r for r in caplog.records if r.name == "django.request"]
    assert record.exc_info[0] is RuntimeError  # the traceback goes to the log, not the client


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="terminates a PostgreSQL backend")
def test_a_terminated_backend_mid_request_is_a_json_503_and_the_next_request_reconnects(
    settings,
):
    settings.BOOKING_LOCK_TIMEOUT_MS = 30_000
    session = SessionFactory()
    student = StudentFactory()
    grant_credits(student=student, amount=2, by=StaffFactory())
    client = client_of(student)
    responses = {}

    def book_then_read() -> None:
        try:
            responses["booking"] = client.post("/api/v1/bookings/", {"session": session.pk})
            responses["me"] = client.get("/api/v1/me/")
        finally:
            connection.close()

    with transaction.atomic():
        Session.objects.select_for_update().get(pk=session.pk)  # park the booking
        thread = threading.Thread(target=book_then_read)
        thread.start()
        with connection.cursor() as cursor:
            deadline = time.monotonic() + 10
            while True:
                # Activity is a snapshot per transaction: take a fresh one each time.
                cursor.execute("SELECT pg_stat_clear_snapshot()")
                cursor.execute(
                    "SELECT pid FROM pg_stat_activity "
                    "WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
                waiting = [pid for (pid,) in cursor.fetchall()]
                if waiting or time.monotonic() > deadline:
                    break
                time.sleep(0.02)
            assert len(waiting) == 1, "the booking never queued on the session lock"
            cursor.execute("SELECT pg_terminate_backend(%s)", waiting)
        thread.join(30)

    assert_database_unavailable(responses["booking"])
    assert responses["me"].status_code == 200
    assert not Booking.objects.exists()
    student.refresh_from_db()
    assert student.credit_balance == 2
