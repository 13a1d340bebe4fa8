"""Promotion after a refund, a grant or a session cancellation, when the student joins
another waitlist while the service waits for its first lock (PostgreSQL, real threads).

The service reads the student's waitlisted sessions before it can lock them (the lock
order puts sessions first). Meanwhile the student joins session B's waitlist, spends
their credits elsewhere, and B's only seat frees up while they cannot pay. When the
service then gives the student credits, B must be promoted: nobody may be left
waiting beside a seat they can pay for (`check_integrity`).
"""

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from bookings.integrity import check_integrity
from bookings.models import Booking
from bookings.services import book_session, cancel_booking, cancel_session, grant_credits
from bookings.tests.locks import held
from scheduling.models import Session
from scheduling.tests.factories import SessionFactory

pytestmark = [
    pytest.mark.concurrency,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="SQLite serialises writers: no race to test"
    ),
]


@pytest.fixture(autouse=True)
def patient_locks(settings):
    settings.BOOKING_LOCK_TIMEOUT_MS = 30_000


def backends_waiting_for_a_lock() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0]


def run_behind_held_lock(
    held_session: Session, call: Callable[[], Any], interleave: Callable[[], None]
) -> Any:
    """Hold `held_session`'s row lock, start `call` in a thread, wait until it queues on
    that lock, run `interleave` (committed, on this connection), then let `call` through."""
    outcome: dict[str, Any] = {}

    def work() -> None:
        try:
            outcome["result"] = call()
        except BaseException as error:  # reported below, never lost
            outcome["error"] = error
        finally:
            connection.close()

    worker = threading.Thread(target=work)
    try:
        with held(lambda: Session.objects.select_for_update().get(pk=held_session.pk)):
            worker.start()
            deadline = time.monotonic() + 10
            while backends_waiting_for_a_lock() < 1:
                assert time.monotonic() < deadline, "the service never queued on the held lock"
                time.sleep(0.02)
            interleave()
    finally:
        if worker.is_alive():
            worker.join(30)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["result"]


@pytest.mark.parametrize("path", ["cancel_booking", "cancel_session", "grant_credits"])
def test_a_waitlist_joined_while_the_service_waits_is_promoted(funded_student, staff, path):
    student = funded_student(2)
    # A: the student's confirmed booking, which cancel_booking and cancel_session refund.
    session_a = SessionFactory(credit_cost=1)
    booking_a = book_session(student=student, session=session_a, by=student)
    # X (grant only): a full session the student already waits on, the grant's first lock.
    session_x = SessionFactory(capacity=1, credit_cost=1)
    book_session(student=funded_student(1), session=session_x, by=staff)
    if path == "grant_credits":
        book_session(student=student, session=session_x, by=student)
    # B: full; its holder leaves during the interleaving. C: where the student spends.
    session_b = SessionFactory(capacity=1, credit_cost=1)
    holder_b = funded_student(1)
    booking_held_b = book_session(student=holder_b, session=session_b, by=holder_b)
    session_c = SessionFactory(credit_cost=1)

    calls = {
        "cancel_booking": (session_a, lambda: cancel_booking(booking=booking_a, by=student)),
        "cancel_session": (
            session_a,
            lambda: cancel_session(session=session_a, by=session_a.semester.master_instructor),
        ),
        "grant_credits": (session_x, lambda: grant_credits(student=student, amount=1, by=staff)),
    }
    locked_first, call = calls[path]

    def interleave() -> None:
        waiting = book_session(student=student, session=session_b, by=student)
        assert waiting.status == Booking.Status.WAITLISTED
        book_session(student=student, session=session_c, by=student)  # balance now 0
        cancel_booking(booking=booking_held_b, by=holder_b)
        # B has a free seat the student cannot pay for yet: a sound state.
        assert check_integrity() == []

    run_behind_held_lock(locked_first, call, interleave)

    assert check_integrity() == []
    on_b = Booking.objects.get(session=session_b, student=student)
    assert on_b.status == Booking.Status.CONFIRMED
    assert on_b.credits_charged == 1
