"""The booking services lock what they may change and nothing else (PostgreSQL, real
threads). Each test holds a row lock that the service has no business taking, in
another connection, and runs the service with a short lock timeout: it must finish.
Locking more would make unrelated requests queue behind each other in a rush, and
answer 503 when the wait outlasts the timeout.

The unrelated rows: a session where someone else waits (the student's waitlists are
the service's to lock, not every waitlist) and that waiter's balance.
"""

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from django.db import connection, transaction

from accounts.models import User
from bookings.integrity import check_integrity
from bookings.models import Booking
from bookings.services import book_session, cancel_booking, cancel_session, grant_credits
from scheduling.models import Session
from scheduling.tests.factories import SessionFactory

pytestmark = [
    pytest.mark.concurrency,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="SQLite has no row locks to scope"
    ),
]


@pytest.fixture(autouse=True)
def impatient_locks(settings):
    settings.BOOKING_LOCK_TIMEOUT_MS = 500


@contextmanager
def held(lock: Callable[[], object]) -> Iterator[None]:
    """Run `lock` (a locking read) in another connection and hold its locks meanwhile."""
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        try:
            with transaction.atomic():
                lock()
                holding.set()
                release.wait(30)
        finally:
            connection.close()

    holder = threading.Thread(target=hold)
    holder.start()
    assert holding.wait(10)
    try:
        yield
    finally:
        release.set()
        holder.join(30)


@pytest.fixture
def elsewhere(funded_student) -> Booking:
    """Someone else waiting on a full session, nothing to do with the calls below."""
    session = SessionFactory(capacity=1, credit_cost=1)
    holder, waiter = funded_student(1), funded_student(1)
    book_session(student=holder, session=session, by=holder)
    return book_session(student=waiter, session=session, by=waiter)


def lock_session_of(booking: Booking) -> Callable[[], object]:
    return lambda: list(Session.objects.select_for_update().filter(pk=booking.session_id))


def lock_balance_of(booking: Booking) -> Callable[[], object]:
    return lambda: list(User.objects.select_for_update(no_key=True).filter(pk=booking.student_id))


def a_student_who_waits_too(funded_student) -> tuple[User, Booking, Booking]:
    """A student with a refundable seat, also waiting on a full session; and the seat
    of the student who holds that session's place (confirmed: no credits reach them)."""
    student = funded_student(2)
    seat = book_session(student=student, session=SessionFactory(credit_cost=1), by=student)
    full = SessionFactory(capacity=1, credit_cost=1)
    taker = funded_student(1)
    taken = book_session(student=taker, session=full, by=taker)
    book_session(student=student, session=full, by=student)
    return student, seat, taken


CALLS = {
    "cancel_booking": lambda student, seat, staff: cancel_booking(booking=seat, by=student),
    "cancel_session": lambda student, seat, staff: cancel_session(
        session=seat.session, by=seat.session.semester.master_instructor
    ),
    "grant_credits": lambda student, seat, staff: grant_credits(
        student=student, amount=1, by=staff
    ),
}


# The rows no call below may lock: a session where someone else waits, that waiter's
# balance, and the balance of a confirmed student on the session ours waits for.
UNRELATED = {
    "other waitlist's session": lambda elsewhere, taken: lock_session_of(elsewhere),
    "other waiter's balance": lambda elsewhere, taken: lock_balance_of(elsewhere),
    "confirmed neighbour's balance": lambda elsewhere, taken: lock_balance_of(taken),
}


@pytest.mark.parametrize("unrelated", UNRELATED)
@pytest.mark.parametrize("call", CALLS)
def test_a_service_never_waits_for_rows_it_does_not_change(
    funded_student, staff, elsewhere, unrelated, call
):
    student, seat, taken = a_student_who_waits_too(funded_student)

    with held(UNRELATED[unrelated](elsewhere, taken)):
        CALLS[call](student, seat, staff)

    assert Booking.objects.get(pk=elsewhere.pk).status == Booking.Status.WAITLISTED
    assert check_integrity() == []


@pytest.mark.parametrize("call", CALLS)
def test_a_balance_lock_lets_rows_that_refer_to_the_student_be_written(funded_student, staff, call):
    """The services lock balances FOR NO KEY UPDATE: a booking or ledger row for the same
    student, written meanwhile elsewhere, takes KEY SHARE on the student's row, which
    that lock lets through (FOR UPDATE would make the two wait for each other)."""
    student, seat, _ = a_student_who_waits_too(funded_student)

    def key_share() -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM accounts_user WHERE id = %s FOR KEY SHARE", [student.pk])

    with held(key_share):
        CALLS[call](student, seat, staff)

    assert check_integrity() == []
