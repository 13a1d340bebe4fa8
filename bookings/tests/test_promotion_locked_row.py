"""Promotion counts seats and charges from the locked session row, whatever object the
caller holds: `session_update` passes the one it was given, read before the lock."""

import pytest

from bookings.integrity import check_integrity
from bookings.models import Booking
from bookings.services import book_session, session_update
from scheduling.models import Session
from scheduling.tests.factories import SessionFactory

pytestmark = pytest.mark.django_db


def test_a_lower_cost_promotes_into_seats_another_edit_added(funded_student):
    session = SessionFactory(capacity=1, credit_cost=2)
    holder = funded_student(2)
    book_session(student=holder, session=session, by=holder)
    student = funded_student(2)
    waiting = book_session(student=student, session=session, by=student)
    book_session(student=student, session=SessionFactory(credit_cost=1), by=student)  # keeps 1
    manager = session.semester.master_instructor
    stale = Session.objects.get(pk=session.pk)  # capacity 1, as this editor loaded it

    # Another editor adds a seat; the waiting student cannot pay 2, so stays waiting.
    session_update(session=Session.objects.get(pk=session.pk), by=manager, capacity=2)
    waiting.refresh_from_db()
    assert waiting.status == Booking.Status.WAITLISTED
    # This editor lowers the cost from its stale copy: the added seat is now affordable.
    session_update(session=stale, by=manager, credit_cost=1)

    waiting.refresh_from_db()
    assert (waiting.status, waiting.credits_charged) == (Booking.Status.CONFIRMED, 1)
    assert Session.objects.get(pk=session.pk).capacity == 2
    assert check_integrity() == []
