"""Mass assignment: fields a caller may not set are refused or ignored, never applied.

Each row sends a legitimate request padded with fields the caller must not control
(a booking's status and charge, another student, a balance, staff rights, counters,
timestamps) and checks the answer and that the database holds only what the server
itself decides.
"""

from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounts.models import User
from accounts.tests.factories import InstructorFactory, StaffFactory, StudentFactory
from bookings.models import Booking, CreditTransaction
from bookings.tests.factories import BookingFactory, CreditGrantFactory
from engagement.models import Feedback
from engagement.tests.factories import AttendanceFactory
from scheduling.models import Session
from scheduling.tests.factories import PastSessionFactory, SemesterFactory, SessionFactory

pytestmark = pytest.mark.django_db

# Fields that describe who somebody is or what they own: never settable through the API.
PRIVILEGED = {
    "is_staff": True,
    "is_superuser": True,
    "role": "instructor",
    "credit_balance": 1000,
    "id": 999999,
    "created_at": "2000-01-01T00:00:00Z",
}


@pytest.fixture
def cast():
    master = InstructorFactory()
    semester = SemesterFactory(master_instructor=master)
    student, other = StudentFactory(), StudentFactory()
    CreditGrantFactory(user=student, amount=5)
    CreditGrantFactory(user=other, amount=5)
    session = SessionFactory(semester=semester, capacity=10, credit_cost=2)
    past = PastSessionFactory(semester=semester)
    BookingFactory(student=student, session=past)
    AttendanceFactory(student=student, session=past)
    return {
        "master": master,
        "student": student,
        "other": other,
        "session": session,
        "past": past,
        "staff": StaffFactory(),
    }


def _snapshot() -> dict[str, Any]:
    """Everything a mass assignment could corrupt, as plain values."""
    return {
        "users": sorted(
            User.objects.values_list("pk", "is_staff", "is_superuser", "role", "credit_balance")
        ),
        "bookings": sorted(
            Booking.objects.values_list("pk", "student_id", "status", "credits_charged")
        ),
        "ledger": sorted(CreditTransaction.objects.values_list("pk", "user_id", "amount")),
        "sessions": sorted(Session.objects.values_list("pk", "status", "capacity", "semester_id")),
        "feedback": sorted(Feedback.objects.values_list("pk", "student_id", "rating")),
    }


def test_a_booking_takes_its_status_charge_and_student_from_the_server(cast, token_client):
    student, session = cast["student"], cast["session"]
    before = _snapshot()
    body = {
        "session": session.pk,
        "status": "cancelled",
        "credits_charged": 0,
        "waitlist_position": 1,
        "cancelled_at": "2000-01-01T00:00:00Z",
        **PRIVILEGED,
    }

    response = token_client(student).post("/api/v1/bookings/", body, format="json")

    assert response.status_code == 201
    booking = Booking.objects.get(pk=response.json()["id"])
    assert (booking.student, booking.status, booking.credits_charged) == (
        student,
        Booking.Status.CONFIRMED,
        2,
    )
    assert booking.cancelled_at is None
    student.refresh_from_db()
    assert (student.credit_balance, student.is_staff, student.role) == (3, False, "student")
    after = _snapshot()
    # The new booking and its charge, nothing else.
    assert len(after["bookings"]) == len(before["bookings"]) + 1
    assert len(after["ledger"]) == len(before["ledger"]) + 1
    assert after["sessions"] == before["sessions"]


# role, method, url builder, body builder, expected status: refused requests change nothing.
REFUSED: list[tuple[str, str, Callable[[dict], str], Callable[[dict], dict[str, Any]], int]] = [
    # Booking for somebody else, or granting oneself credits.
    (
        "student",
        "post",
        lambda c: "/api/v1/bookings/",
        lambda c: {"session": c["session"].pk, "student": c["other"].pk},
        403,
    ),
    (
        "student",
        "post",
        lambda c: "/api/v1/credits/grant/",
        lambda c: {"student": c["student"].pk, "amount": 100},
        403,
    ),
    # The session's capacity, status or semester by a student, or its status by its master.
    (
        "student",
        "patch",
        lambda c: f"/api/v1/sessions/{c['session'].pk}/",
        lambda c: {"capacity": 1000, "status": "cancelled"},
        403,
    ),
    (
        "master",
        "patch",
        lambda c: f"/api/v1/sessions/{c['session'].pk}/",
        lambda c: {"semester": SemesterFactory(master_instructor=c["master"]).pk},
        400,
    ),
    # Catalogue writes are staff only, whatever the body claims.
    (
        "student",
        "post",
        lambda c: "/api/v1/specializations/",
        lambda c: {"code": "X", "name": "X", **PRIVILEGED},
        403,
    ),
]


@pytest.mark.parametrize(
    ("role", "method", "url", "body", "expected"),
    REFUSED,
    ids=[f"{role} {method} {index}" for index, (role, method, *_) in enumerate(REFUSED)],
)
def test_refused_writes_change_nothing(cast, token_client, role, method, url, body, expected):
    target, data = url(cast), body(cast)
    before = _snapshot()

    response = getattr(token_client(cast[role]), method)(target, data, format="json")

    assert response.status_code == expected
    assert _snapshot() == before


def test_a_session_update_ignores_status_counters_and_timestamps(cast, token_client):
    session = cast["session"]
    body = {
        "title": "Renamed",
        "status": "cancelled",
        "booking_count": 99,
        "confirmed_count": 99,
        "available_spots": 0,
        "created_at": "2000-01-01T00:00:00Z",
        "id": 999999,
    }

    response = token_client(cast["master"]).patch(
        f"/api/v1/sessions/{session.pk}/", body, format="json"
    )

    assert response.status_code == 200
    assert response.json()["confirmed_count"] == 0
    session.refresh_from_db()
    assert (session.pk, session.title, session.status) == (
        response.json()["id"],
        "Renamed",
        Session.Status.SCHEDULED,
    )
    assert session.created_at.year != 2000


def test_feedback_is_always_the_callers_own(cast, token_client):
    student, other, past = cast["student"], cast["other"], cast["past"]

    response = token_client(student).post(
        "/api/v1/feedback/",
        {"session": past.pk, "rating": 4, "student": other.pk, **PRIVILEGED},
        format="json",
    )

    assert response.status_code == 201
    feedback = Feedback.objects.get(pk=response.json()["id"])
    assert feedback.student == student
    assert not Feedback.objects.filter(student=other).exists()
    assert feedback.created_at.year != 2000


@pytest.mark.parametrize(("method", "status"), [("put", 405), ("post", 405), ("patch", 400)])
def test_the_account_itself_is_read_only(cast, method, status):
    # A plain client: the schema documents no write on /me/ but the email switches
    # (PATCH), and a PATCH naming anything else is refused by name.
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=cast['student'])}")
    before = _snapshot()

    response = getattr(client, method)("/api/v1/me/", PRIVILEGED, format="json")

    assert response.status_code == status
    if status == 400:
        assert set(response.json()) == set(PRIVILEGED)
    assert _snapshot() == before
