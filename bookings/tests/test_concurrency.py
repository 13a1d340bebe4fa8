"""SPEC §3 under real concurrency: threads, each with its own PostgreSQL connection.

SQLite serialises every writer, so these tests only mean something on PostgreSQL.
Each race releases its threads together on a barrier and collects every result
and every exception; `pytest -s` shows the measured throughput.
"""

import threading
import time
from collections import Counter
from functools import partial

import pytest
from django.db import connection, transaction
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from bookings import services
from bookings.integrity import check_integrity
from bookings.models import Booking, CreditTransaction
from bookings.services import book_session, cancel_booking
from config.atomic import service_transaction
from config.errors import Busy, Conflict
from scheduling.access import lock_session
from scheduling.errors import SessionProtected
from scheduling.models import Session
from scheduling.services import session_delete
from scheduling.tests.factories import SessionFactory

pytestmark = [
    pytest.mark.concurrency,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="SQLite serialises writers: no race to test"
    ),
]

SEATS = 20
STUDENTS = 60


@pytest.fixture(autouse=True)
def patient_locks(settings):
    """Queues of threads wait longer than a request would; the Busy test lowers it."""
    settings.BOOKING_LOCK_TIMEOUT_MS = 30_000


def codes(outcome) -> Counter:
    return Counter(
        getattr(error, "code", type(error).__name__) for error in outcome.errors.values()
    )


def balance_of(user) -> int:
    user.refresh_from_db(fields=["credit_balance"])
    return user.credit_balance


def widen_race_window(monkeypatch, delay: float) -> None:
    """Sleep between counting a session's seats and writing the booking: the window
    that the session lock closes, made wide enough for every thread to fall into it."""
    for name in ("confirmed_count", "seat_counts"):
        monkeypatch.setattr(services, name, _slowed(getattr(services, name), delay))


def _slowed(count, delay: float):
    def slow_count(session: Session, *args):
        seats = count(session, *args)
        time.sleep(delay)
        return seats

    return slow_count


def without_session_locks(monkeypatch) -> None:
    """The negative control: the session read without FOR UPDATE, to prove the lock matters."""
    monkeypatch.setattr(services, "lock_session", lambda pk: Session.objects.get(pk=pk))
    monkeypatch.setattr(services, "_lock_for_booking", _read_for_booking)


def _read_for_booking(session_id: int, student, viewer=None) -> Session:
    session = Session.objects.get(pk=session_id)
    session.student_eligible = True  # the race's sessions are open to everyone
    return session


def capacity_race(race, funded_student, monkeypatch, *, delay: float, locks: bool):
    widen_race_window(monkeypatch, delay)
    if not locks:
        without_session_locks(monkeypatch)
    session = SessionFactory(capacity=SEATS)
    students = [funded_student(1) for _ in range(STUDENTS)]
    outcome = race([partial(book_session, student=s, session=session, by=s) for s in students])
    label = "locked" if locks else "NO LOCKS (negative control)"
    print(
        f"\ncapacity race, {label}, delay {delay}s: {STUDENTS} bookings in "
        f"{outcome.seconds:.2f}s = {STUDENTS / outcome.seconds:.0f} bookings/s"
    )
    return session, outcome


@pytest.mark.parametrize("delay", [0.05, 0.0])
def test_capacity_race_confirms_exactly_the_seats(race, funded_student, monkeypatch, delay):
    session, outcome = capacity_race(race, funded_student, monkeypatch, delay=delay, locks=True)

    assert outcome.errors == {}
    assert Counter(b.status for b in outcome.results.values()) == {
        "confirmed": SEATS,
        "waitlisted": STUDENTS - SEATS,
    }
    rows = Counter(Booking.objects.filter(session=session).values_list("status", flat=True))
    assert rows == {"confirmed": SEATS, "waitlisted": STUDENTS - SEATS}
    assert CreditTransaction.objects.filter(kind="booking").count() == SEATS
    assert check_integrity() == []


def test_capacity_race_without_locks_overbooks(race, funded_student, monkeypatch):
    """Negative control: the race window is real, so the lock is what prevents it."""
    session, outcome = capacity_race(race, funded_student, monkeypatch, delay=0.05, locks=False)

    assert outcome.errors == {}
    confirmed = Booking.objects.filter(session=session, status="confirmed").count()
    assert confirmed > SEATS
    assert ("overbooked", (session.pk,)) in {(f.check, f.ids) for f in check_integrity()}


def test_double_spend_across_sessions(race, funded_student, monkeypatch):
    widen_race_window(monkeypatch, 0.05)
    student = funded_student(3)
    sessions = SessionFactory.create_batch(10, credit_cost=1)

    outcome = race(
        [partial(book_session, student=student, session=s, by=student) for s in sessions]
    )

    assert codes(outcome) == {"insufficient_credits": 7}
    assert [b.status for b in outcome.results.values()] == ["confirmed"] * 3
    assert balance_of(student) == 0
    assert CreditTransaction.objects.filter(user=student, kind="booking").count() == 3
    assert Booking.objects.filter(student=student).count() == 3
    assert check_integrity() == []


def test_a_double_submitted_booking_gives_one_booking(race, funded_student, monkeypatch):
    widen_race_window(monkeypatch, 0.02)
    student = funded_student(5)
    session = SessionFactory(credit_cost=2)

    outcome = race([partial(book_session, student=student, session=session, by=student)] * 10)

    assert codes(outcome) == {"already_booked": 9}
    assert Booking.objects.filter(student=student).count() == 1
    assert balance_of(student) == 3
    assert check_integrity() == []


def test_cancellations_promotions_and_bookings_interleave(race, funded_student, monkeypatch):
    widen_race_window(monkeypatch, 0.01)
    capacity = 10
    session = SessionFactory(capacity=capacity, credit_cost=2)
    holders = []
    for _ in range(capacity):
        student = funded_student(2)
        holders.append(book_session(student=student, session=session, by=student))
    waiting = []
    for _ in range(10):
        student = funded_student(2)
        waiting.append(book_session(student=student, session=session, by=student))
    assert {b.status for b in waiting} == {"waitlisted"}
    newcomers = [funded_student(2) for _ in range(10)]

    # A sampler watches the confirmed count while the writers run.
    finished = threading.Event()
    left = [len(holders) + len(newcomers)]
    left_lock = threading.Lock()

    def counted(call):
        def run():
            try:
                return call()
            finally:
                with left_lock:
                    left[0] -= 1
                    if not left[0]:
                        finished.set()

        return run

    def sample() -> list[int]:
        seen = []
        while not finished.is_set():
            seen.append(Booking.objects.filter(session=session, status="confirmed").count())
            time.sleep(0.002)
        return seen

    calls = [counted(partial(cancel_booking, booking=b, by=b.student)) for b in holders]
    calls += [counted(partial(book_session, student=s, session=session, by=s)) for s in newcomers]
    outcome = race([*calls, sample])

    assert outcome.errors == {}  # no Busy: no deadlock, no lock timeout
    samples = outcome.results[len(calls)]
    assert samples
    assert max(samples) <= capacity
    # Every freed seat went to the waitlist, in its order; the newcomers queue behind it.
    promoted = [
        p.pk for r in outcome.results.values() if hasattr(r, "promoted") for p in r.promoted
    ]
    charges_in_commit_order = list(
        CreditTransaction.objects.filter(booking__in=waiting, kind="booking")
        .order_by("id")
        .values_list("booking_id", flat=True)
    )
    assert charges_in_commit_order == [b.pk for b in waiting]
    assert sorted(promoted) == sorted(b.pk for b in waiting)
    assert Counter(Booking.objects.filter(session=session).values_list("status", flat=True)) == {
        "cancelled": capacity,
        "confirmed": capacity,
        "waitlisted": len(newcomers),
    }
    refunds = Counter(
        CreditTransaction.objects.filter(kind="refund").values_list("booking_id", flat=True)
    )
    assert refunds == dict.fromkeys((b.pk for b in holders), 1)
    assert all(balance_of(b.student) == 2 for b in holders)
    assert all(balance_of(b.student) == 0 for b in waiting)
    assert check_integrity() == []


def test_ten_cancellations_of_one_booking_refund_once(race, funded_student):
    student = funded_student(3)
    booking = book_session(student=student, session=SessionFactory(credit_cost=3), by=student)

    outcome = race([partial(cancel_booking, booking=booking, by=student) for _ in range(10)])

    assert codes(outcome) == {"already_cancelled": 9}
    assert [r.credits_refunded for r in outcome.results.values()] == [3]
    assert CreditTransaction.objects.filter(booking=booking, kind="refund").count() == 1
    assert balance_of(student) == 3
    assert check_integrity() == []


@pytest.mark.parametrize("round_", range(3))
def test_deleting_a_session_while_bookings_race_in(race, funded_student, round_):
    session = SessionFactory()
    students = [funded_student(1) for _ in range(8)]
    manager = session.semester.master_instructor
    calls = [partial(book_session, student=s, session=session, by=s) for s in students]
    calls.insert(round_ * 4, partial(session_delete, session=session, by=manager))

    outcome = race(calls)

    delete_index = round_ * 4
    booker_errors = [e for i, e in outcome.errors.items() if i != delete_index]
    if Session.objects.filter(pk=session.pk).exists():
        assert isinstance(outcome.errors[delete_index], SessionProtected)
        assert booker_errors == []
        assert Booking.objects.filter(session=session).count() == len(students)
    else:
        assert delete_index not in outcome.errors
        assert all(isinstance(e, Conflict) for e in booker_errors)
        assert {e.code for e in booker_errors} <= {"session_deleted"}
        assert len(booker_errors) == len(students)
        assert not Booking.objects.exists()
        assert not CreditTransaction.objects.exclude(kind="grant").exists()
    assert check_integrity() == []


def test_a_held_session_lock_answers_busy_in_about_the_lock_timeout(race, funded_student, settings):
    settings.BOOKING_LOCK_TIMEOUT_MS = 300
    session = SessionFactory()
    student = funded_student(2)

    def timed_booking():
        started = time.perf_counter()
        try:
            book_session(student=student, session=session, by=student)
        finally:
            timed_booking.seconds = time.perf_counter() - started

    with transaction.atomic():
        # This connection holds the row lock, as a slow writer would.
        Session.objects.select_for_update().get(pk=session.pk)
        outcome = race([timed_booking])

    assert list(outcome.errors) == [0]
    assert isinstance(outcome.errors[0], Busy)
    assert 0.25 <= timed_booking.seconds < 2.0
    assert not Booking.objects.exists()
    assert balance_of(student) == 2
    assert list(CreditTransaction.objects.values_list("kind", flat=True)) == ["grant"]


# --- The same races through the REST API, as integrators send them -----------------------

BOOKINGS_URL = "/api/v1/bookings/"
# Fewer clients than the service race: each also holds a connection on a shared server.
API_STUDENTS = 40


def token_poster(students, session):
    """One API client per call (per thread), authenticated by token, posting a booking."""
    keys = {student.pk: Token.objects.create(user=student).key for student in students}

    def post(student):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {keys[student.pk]}")
        return client.post(BOOKINGS_URL, {"session": session.pk}, format="json")

    return [partial(post, student) for student in students]


def test_api_capacity_race_never_answers_5xx(race, funded_student, monkeypatch):
    widen_race_window(monkeypatch, 0.02)
    session = SessionFactory(capacity=SEATS)
    students = [funded_student(1) for _ in range(API_STUDENTS)]

    outcome = race(token_poster(students, session))

    assert outcome.errors == {}
    print(
        f"\nAPI capacity race: {API_STUDENTS} POSTs in {outcome.seconds:.2f}s = "
        f"{API_STUDENTS / outcome.seconds:.0f} bookings/s"
    )
    responses = list(outcome.results.values())
    assert [r.status_code for r in responses if r.status_code >= 500] == []
    assert Counter(r.status_code for r in responses) == {201: API_STUDENTS}
    assert Counter(r.json()["status"] for r in responses) == {
        "confirmed": SEATS,
        "waitlisted": API_STUDENTS - SEATS,
    }
    assert Booking.objects.filter(session=session, status="confirmed").count() == SEATS
    assert check_integrity() == []


def test_api_answers_503_with_retry_after_while_the_session_is_locked(
    race, funded_student, settings
):
    settings.BOOKING_LOCK_TIMEOUT_MS = 300
    session = SessionFactory()
    student = funded_student(2)
    (post,) = token_poster([student], session)

    with transaction.atomic():
        Session.objects.select_for_update().get(pk=session.pk)
        outcome = race([post])

    assert outcome.errors == {}
    response = outcome.results[0]
    assert response.status_code == 503
    assert response.headers["Retry-After"] == str(Busy.retry_after_seconds)
    assert response.json()["code"] == "busy"
    assert not Booking.objects.exists()
    assert balance_of(student) == 2


def test_a_deadlock_between_writers_answers_busy(race):
    """Writers that broke the lock order would deadlock: PostgreSQL picks a victim,
    and service_transaction turns its error into Busy (503), never a 500."""
    first, second = SessionFactory(), SessionFactory()
    both_hold_one = threading.Barrier(2, timeout=10)

    def lock_in_order(a: int, b: int) -> None:
        with service_transaction():
            lock_session(a)
            both_hold_one.wait()
            lock_session(b)

    outcome = race(
        [partial(lock_in_order, first.pk, second.pk), partial(lock_in_order, second.pk, first.pk)]
    )

    assert len(outcome.results) == 1
    (error,) = outcome.errors.values()
    assert isinstance(error, Busy)
    assert error.__cause__.__cause__.sqlstate == "40P01"  # deadlock_detected
