"""A write that committed is reported as done, even if the database is gone right after.

The connection can die between the commit and the response (a failover, a terminated
backend). If the response were built by reading the booking again after the commit,
the client would get an error for a booking that exists and was charged, and would
book again. Here every statement after the commit fails, as on a dead connection.
"""

from contextlib import contextmanager

import pytest
from django.db import OperationalError, connection, transaction
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from bookings.models import Booking
from bookings.services import book_session
from scheduling.tests.factories import SessionFactory

pytestmark = pytest.mark.django_db(transaction=True)


@contextmanager
def connection_lost_after_commit():
    """Every statement after the first commit of a transaction fails; `state["refused"]`
    lists them."""
    state = {"committed": False, "registered": False, "refused": []}

    def lose() -> None:
        state["committed"] = True

    def wrapper(execute, sql, params, many, context):
        if state["committed"]:
            state["refused"].append(sql)
            raise OperationalError("server closed the connection unexpectedly")
        if connection.in_atomic_block and not state["registered"]:
            state["registered"] = True
            transaction.on_commit(lose)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        yield state


def client_of(user) -> APIClient:
    client = APIClient(raise_request_exception=False)
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


@pytest.mark.parametrize("capacity", [1, 0], ids=["confirmed", "waitlisted"])
@pytest.mark.parametrize("headers", [{}, {"Idempotency-Key": "k-1"}], ids=["no-key", "key"])
def test_a_committed_booking_answers_201_when_the_connection_dies_after_the_commit(
    funded_student, capacity, headers
):
    student = funded_student(3)
    session = SessionFactory(capacity=1, credit_cost=2)
    if not capacity:
        other = funded_student(2)
        book_session(student=other, session=session, by=other)
    client = client_of(student)

    with connection_lost_after_commit() as state:
        response = client.post(
            "/api/v1/bookings/", {"session": session.pk}, format="json", headers=headers
        )

    assert state["committed"]
    assert response.status_code == 201, response.content
    booking = Booking.objects.get(session=session, student=student)
    body = response.json()
    assert body["id"] == booking.pk
    assert body["status"] == booking.status == ("confirmed" if capacity else "waitlisted")
    assert body["credits_charged"] == (2 if capacity else 0)
    assert body["waitlist_position"] == (None if capacity else 1)
    assert body["session_title"] == session.title
    assert body["student_username"] == student.username


def test_a_committed_cancellation_answers_200_when_the_connection_dies_after_the_commit(
    funded_student,
):
    student = funded_student(2)
    booking = book_session(student=student, session=SessionFactory(credit_cost=2), by=student)
    client = client_of(student)

    with connection_lost_after_commit() as state:
        response = client.post(f"/api/v1/bookings/{booking.pk}/cancel/")

    assert state["committed"]
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["id"], body["status"], body["credits_refunded"]) == (booking.pk, "cancelled", 2)
    assert body["student_username"] == student.username
    booking.refresh_from_db()
    assert booking.status == "cancelled"
