"""The booking services lock what they may change and nothing else (PostgreSQL, real
threads). Each test holds a row lock that the service has no business taking, in
another connection, and runs the service with a short lock timeout: it must finish.
Locking more would make unrelated requests queue behind each other in a rush, and
answer 503 when the wait outlasts the timeout.

The unrelated rows are listed with `UNRELATED` below: the student's waitlists are the
service's to lock, not every waitlist, nor every booker's balance.
"""

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.db import connection

from accounts.models import User
from bookings.integrity import check_integrity
from bookings.models import Booking
from bookings.services import book_session, cancel_booking, cancel_session, grant_credits
from bookings.tests.factories import BookingFactory
from bookings.tests.locks import held
from scheduling.models import Session
from scheduling.tests.factories import PastSessionFactory, SessionFactory

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


@dataclass
class Stage:
    student: User
    seat: Booking  # refundable: its refund may promote the student where they wait
    other_seat: Booking  # another session the student holds, where no credit promotes
    taken: Booking  # the confirmed seat on the full session the student waits for
    waited: Booking  # a waitlisted booking of the student's on a session already started


def a_student_who_waits_too(funded_student) -> Stage:
    student = funded_student(3)
    seat = book_session(student=student, session=SessionFactory(credit_cost=1), by=student)
    other_seat = book_session(student=student, session=SessionFactory(credit_cost=1), by=student)
    full = SessionFactory(capacity=1, credit_cost=1)
    taker = funded_student(1)
    taken = book_session(student=taker, session=full, by=taker)
    book_session(student=student, session=full, by=student)
    waited = BookingFactory(student=student, session=PastSessionFactory(), status="waitlisted")
    return Stage(student, seat, other_seat, taken, waited)


CALLS = {
    "cancel_booking": lambda stage, staff: cancel_booking(booking=stage.seat, by=stage.student),
    "cancel_session": lambda stage, staff: cancel_session(
        session=stage.seat.session, by=stage.seat.session.semester.master_instructor
    ),
    "grant_credits": lambda stage, staff: grant_credits(student=stage.student, amount=1, by=staff),
}


# The rows no call below may lock: a session where someone else waits, that waiter's
# balance, the balance of a confirmed student on the session ours waits for, the
# session of another seat ours holds, and a started session ours still waits on (no
# promotion happens once a session has started).
UNRELATED = {
    "other waitlist's session": lambda elsewhere, stage: lock_session_of(elsewhere),
    "other waiter's balance": lambda elsewhere, stage: lock_balance_of(elsewhere),
    "confirmed neighbour's balance": lambda elsewhere, stage: lock_balance_of(stage.taken),
    "the student's other session": lambda elsewhere, stage: lock_session_of(stage.other_seat),
    "a started session": lambda elsewhere, stage: lock_session_of(stage.waited),
}


@pytest.mark.parametrize("unrelated", UNRELATED)
@pytest.mark.parametrize("call", CALLS)
def test_a_service_never_waits_for_rows_it_does_not_change(
    funded_student, staff, elsewhere, unrelated, call
):
    stage = a_student_who_waits_too(funded_student)

    with held(UNRELATED[unrelated](elsewhere, stage)):
        CALLS[call](stage, staff)

    assert Booking.objects.get(pk=elsewhere.pk).status == Booking.Status.WAITLISTED
    assert check_integrity() == []


@pytest.mark.parametrize("call", CALLS)
def test_a_balance_lock_lets_rows_that_refer_to_the_student_be_written(funded_student, staff, call):
    """The services lock balances FOR NO KEY UPDATE: a booking or ledger row for the same
    student, written meanwhile elsewhere, takes KEY SHARE on the student's row, which
    that lock lets through (FOR UPDATE would make the two wait for each other)."""
    stage = a_student_who_waits_too(funded_student)

    def key_share() -> None:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT 1 FROM accounts_user WHERE id = %s FOR KEY SHARE", [stage.student.pk]
            )

    with held(key_share):
        CALLS[call](stage, staff)

    assert check_integrity() == []


def test_leaving_a_waitlist_locks_no_balance(funded_student):
    """A waitlisted booking was never charged and frees no seat: cancelling it moves no
    balance, so it waits for none, not even the student's own."""
    stage = a_student_who_waits_too(funded_student)
    waiting = Booking.objects.get(student=stage.student, session=stage.taken.session)

    with held(lock_balance_of(waiting)):
        cancel_booking(booking=waiting, by=stage.student)

    assert Booking.objects.get(pk=waiting.pk).status == Booking.Status.CANCELLED
