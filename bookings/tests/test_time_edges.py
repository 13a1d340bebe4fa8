"""Booking rules at the exact instants they turn: the start, the refund deadline.

The clock is frozen by patching `django.utils.timezone.now`, which every service
reads. SPEC §3: a session that "has not started" is bookable, so at `now ==
date_start` it has started; cancelling "at least 24 hours before" refunds, so at
exactly 24 h it refunds and one microsecond later it does not.

Each test below was run against a planted bug, which it failed, and the plant
was reverted:
- `>=` -> `>` in `Session.has_started`: booking, cancelling and attendance at the
  start, and promotion at the start, fail;
- `now <= refund_deadline` -> `now < refund_deadline` in `cancel_booking`: the
  exactly-24-hours tests (API and admin) fail;
- `refund_deadline` from the local wall clock (`localtime(date_start) - 24 h`)
  across a DST change: the Budapest test fails;
- `session__date_start__gt=now` -> `__gte` in `_promotable_sessions_of` together
  with `has_started` -> `>`: the promotion test fails (either alone is caught by
  the other, as intended: the lock set and the promotion both refuse a started session).
"""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.contrib.messages import get_messages
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import StudentFactory
from bookings.models import Booking
from bookings.tests.factories import BookingFactory, CreditGrantFactory
from engagement.models import Attendance
from scheduling.tests.factories import SemesterFactory, SessionFactory

pytestmark = pytest.mark.django_db

BOOKINGS = "/api/v1/bookings/"
MICROSECOND = timedelta(microseconds=1)
DAY = timedelta(hours=24)


@pytest.fixture
def session():
    return SessionFactory(capacity=1, credit_cost=2)


@pytest.fixture
def student():
    user = StudentFactory()
    CreditGrantFactory(user=user, amount=10)
    return user


def balance(user) -> int:
    user.refresh_from_db()
    return user.credit_balance


# --- Booking at the start ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("offset", "status", "code"),
    [
        pytest.param(-MICROSECOND, 201, None, id="a-microsecond-before"),
        pytest.param(timedelta(0), 409, "session_started", id="at-the-start"),
    ],
)
def test_booking_closes_at_the_exact_start(
    token_client, clock, session, student, offset, status, code
):
    clock(session.date_start + offset)

    response = token_client(student).post(BOOKINGS, {"session": session.pk})

    assert response.status_code == status, response.json()
    assert response.json().get("code") == code
    assert Booking.objects.filter(session=session).exists() == (status == 201)


# --- The refund deadline -----------------------------------------------------------------


def _confirmed(session, student) -> Booking:
    return BookingFactory(session=session, student=student)


@pytest.mark.parametrize(
    ("offset", "refunded"),
    [
        pytest.param(timedelta(0), 2, id="exactly-24h-before"),
        pytest.param(MICROSECOND, 0, id="a-microsecond-later"),
    ],
)
def test_the_refund_deadline_is_inclusive_through_the_api(
    token_client, clock, session, student, offset, refunded
):
    booking = _confirmed(session, student)
    before = balance(student)
    clock(session.date_start - DAY + offset)

    response = token_client(student).post(f"{BOOKINGS}{booking.pk}/cancel/")

    assert response.status_code == 200, response.json()
    assert response.json()["credits_refunded"] == refunded
    assert balance(student) == before + refunded


@pytest.mark.parametrize(
    ("offset", "refunded"),
    [
        pytest.param(timedelta(0), 2, id="exactly-24h-before"),
        pytest.param(MICROSECOND, 0, id="a-microsecond-later"),
    ],
)
def test_the_refund_deadline_is_inclusive_in_the_admin(
    staff, clock, session, student, offset, refunded
):
    booking = _confirmed(session, student)
    before = balance(student)
    client = Client()
    client.force_login(staff)
    clock(session.date_start - DAY + offset)

    response = client.post(
        reverse("admin:bookings_booking_changelist"),
        {"action": "cancel_selected_bookings", "_selected_action": [booking.pk]},
        follow=True,
    )

    messages = [str(message) for message in get_messages(response.wsgi_request)]
    assert messages == [
        f"Cancelled 1 booking(s): {refunded} credit(s) refunded, 0 waitlisted booking(s) promoted."
    ]
    assert balance(student) == before + refunded


def test_the_refund_deadline_counts_elapsed_hours_across_a_dst_change(token_client, clock, student):
    """Budapest springs forward on 30 March 2031: a session at 10:00 that Sunday is
    24 elapsed hours after 09:00 on Saturday, not after 10:00 (which is 25 hours)."""
    zone = ZoneInfo("Europe/Budapest")
    start = datetime(2031, 3, 30, 10, 0, tzinfo=zone)
    semester = SemesterFactory(start_date=start.date(), end_date=start.date())
    session = SessionFactory(
        semester=semester, date_start=start, date_end=start + timedelta(hours=1), credit_cost=2
    )
    booking = _confirmed(session, student)

    with override_settings(TIME_ZONE="Europe/Budapest"):
        assert timezone.get_current_timezone_name() == "Europe/Budapest"
        clock(datetime(2031, 3, 29, 9, 30, tzinfo=zone))  # 23.5 elapsed hours before
        response = token_client(student).post(f"{BOOKINGS}{booking.pk}/cancel/")

    assert response.json()["credits_refunded"] == 0


# --- Cancelling and attendance at the start ----------------------------------------------


@pytest.mark.parametrize(
    ("offset", "status"),
    [
        pytest.param(-MICROSECOND, 200, id="a-microsecond-before"),
        pytest.param(timedelta(0), 409, id="at-the-start"),
    ],
)
def test_cancelling_closes_at_the_exact_start(
    token_client, clock, session, student, offset, status
):
    booking = _confirmed(session, student)
    clock(session.date_start + offset)

    response = token_client(student).post(f"{BOOKINGS}{booking.pk}/cancel/")

    assert response.status_code == status
    if status == 409:
        assert response.json()["code"] == "session_started"


@pytest.mark.parametrize(
    ("offset", "status", "code"),
    [
        pytest.param(-MICROSECOND, 409, "session_not_started", id="a-microsecond-before"),
        pytest.param(timedelta(0), 201, None, id="at-the-start"),
    ],
)
def test_attendance_opens_at_the_exact_start_through_the_api(
    token_client, clock, session, student, offset, status, code
):
    _confirmed(session, student)
    clock(session.date_start + offset)

    response = token_client(session.instructor).post(
        "/api/v1/attendance/",
        {"session": session.pk, "student": student.pk, "status": "present"},
    )

    assert response.status_code == status, response.json()
    assert response.json().get("code") == code
    assert Attendance.objects.exists() == (status == 201)


@pytest.mark.parametrize(
    ("offset", "saved"),
    [
        pytest.param(-MICROSECOND, False, id="a-microsecond-before"),
        pytest.param(timedelta(0), True, id="at-the-start"),
    ],
)
def test_attendance_opens_at_the_exact_start_on_the_instructor_page(
    client, clock, session, student, offset, saved
):
    _confirmed(session, student)
    client.force_login(session.instructor)
    clock(session.date_start + offset)

    client.post(
        reverse("instructor:session-attendance", args=[session.pk]),
        {f"student_{student.pk}": "present"},
    )

    assert Attendance.objects.filter(session=session, student=student).exists() == saved


# --- Promotion at the start --------------------------------------------------------------


@pytest.mark.parametrize(
    ("offset", "promoted"),
    [
        pytest.param(-MICROSECOND, True, id="a-microsecond-before"),
        pytest.param(timedelta(0), False, id="at-the-start"),
    ],
)
def test_nobody_is_promoted_once_the_session_has_started(
    token_client, staff, clock, session, offset, promoted
):
    """A grant lets a waitlisted student pay: promoted before the start, not at it."""
    # One free seat, and a waitlisted student who could not pay when it was freed.
    session.capacity = 2
    session.save(update_fields=["capacity"])
    BookingFactory(session=session)
    waiting = BookingFactory(
        session=session, student=StudentFactory(), status=Booking.Status.WAITLISTED
    )
    clock(session.date_start + offset)

    response = token_client(staff).post(
        "/api/v1/credits/grant/", {"student": waiting.student_id, "amount": 5, "note": "Top-up"}
    )

    assert response.status_code == 201
    waiting.refresh_from_db()
    assert (waiting.status == Booking.Status.CONFIRMED) == promoted
    assert balance(waiting.student) == (3 if promoted else 5)
