"""/api/v1/bookings/: who sees and books what (SPEC §4), and what the engine answers."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.tests.factories import StudentFactory
from bookings.models import Booking, CreditTransaction
from bookings.tests.api_world import ROLES, build_world
from bookings.tests.factories import BookingFactory, CreditGrantFactory
from scheduling.tests.factories import (
    GroupFactory,
    PastSessionFactory,
    SemesterFactory,
    SessionFactory,
)

pytestmark = pytest.mark.django_db

URL = "/api/v1/bookings/"


@pytest.fixture
def world():
    return build_world()


@pytest.fixture
def bookings(world):
    """The student's booking on `session`, the other student's on `other_session`."""
    return {
        "mine": BookingFactory(student=world.student, session=world.session),
        "other": BookingFactory(student=world.other_student, session=world.other_session),
    }


# role -> the bookings it sees (None: 401).
LIST_TABLE = {
    "anonymous": None,
    "student": {"mine"},
    "other_student": {"other"},
    "instructor": {"mine"},
    "master": {"mine"},
    "other_instructor": {"other"},
    "staff": {"mine", "other"},
}


@pytest.mark.parametrize(("role", "expected"), LIST_TABLE.items())
def test_list_is_scoped_to_the_caller(as_role, bookings, role, expected):
    response = as_role(role).get(URL)
    if expected is None:
        assert response.status_code == 401
        return
    assert response.status_code == 200
    ids = {row["id"] for row in response.json()["results"]}
    assert ids == {bookings[name].pk for name in expected}


@pytest.mark.parametrize(
    ("role", "status"),
    [(role, 401 if expected is None else 200 if "mine" in expected else 404)
     for role, expected in LIST_TABLE.items()],
)  # fmt: skip
def test_retrieve_answers_404_for_a_booking_the_caller_may_not_see(as_role, bookings, role, status):
    response = as_role(role).get(f"{URL}{bookings['mine'].pk}/")
    assert response.status_code == status
    if status == 200:
        body = response.json()
        assert body["session"] == bookings["mine"].session_id
        assert body["status"] == "confirmed"
        assert body["waitlist_position"] is None


def test_representation(as_role, world):
    booking = BookingFactory(student=world.student, session=world.session)
    body = as_role("student").get(f"{URL}{booking.pk}/").json()
    assert body == {
        "id": booking.pk,
        "session": world.session.pk,
        "session_title": world.session.title,
        "session_date_start": world.session.date_start.isoformat().replace("+00:00", "Z"),
        "student": world.student.pk,
        "student_username": world.student.username,
        "status": "confirmed",
        "credits_charged": world.session.credit_cost,
        "waitlist_position": None,
        "created_at": body["created_at"],
        "cancelled_at": None,
    }


def test_waitlisted_bookings_show_their_place(as_role, world):
    world.session.capacity = 1
    world.session.save()
    BookingFactory(session=world.session)
    first = BookingFactory(session=world.session, status=Booking.Status.WAITLISTED)
    second = BookingFactory(session=world.session, status=Booking.Status.WAITLISTED)
    rows = as_role("instructor").get(URL, {"status": "waitlisted"}).json()["results"]
    assert [(row["id"], row["waitlist_position"]) for row in rows] == [
        (first.pk, 1),
        (second.pk, 2),
    ]


def test_waiters_who_joined_at_the_same_instant_have_places_in_id_order(as_role, world):
    world.session.capacity = 1
    world.session.save()
    BookingFactory(session=world.session)
    first, second = BookingFactory.create_batch(
        2, session=world.session, status=Booking.Status.WAITLISTED
    )
    Booking.objects.filter(pk__in=[first.pk, second.pk]).update(created_at=timezone.now())

    rows = as_role("instructor").get(URL, {"status": "waitlisted"}).json()["results"]

    places = {row["id"]: row["waitlist_position"] for row in rows}
    assert places == {first.pk: 1, second.pk: 2}


def test_filters_by_session_and_status(as_role, world, bookings):
    cancelled = BookingFactory(session=world.session, status=Booking.Status.CANCELLED)
    client = as_role("staff")

    def ids(**params):
        return {row["id"] for row in client.get(URL, params).json()["results"]}

    assert ids(session=world.session.pk) == {bookings["mine"].pk, cancelled.pk}
    assert ids(status="cancelled") == {cancelled.pk}
    assert ids(session=world.other_session.pk, status="confirmed") == {bookings["other"].pk}
    assert as_role("staff").get(URL, {"status": "lost"}).status_code == 400


# role -> status of POST {"session"} for a session everybody may book.
CREATE_TABLE = {
    "anonymous": 401,
    "student": 201,
    "other_student": 201,
    "instructor": 403,
    "master": 403,
    "other_instructor": 403,
    "staff": 400,  # Staff book for a student, whom they must name.
}


@pytest.mark.parametrize(("role", "status"), CREATE_TABLE.items())
def test_who_may_book(as_role, world, role, status):
    response = as_role(role).post(URL, {"session": world.session.pk})
    assert response.status_code == status
    if status == 201:
        booking = Booking.objects.get(pk=response.json()["id"])
        assert booking.student == world.user(role)
        assert booking.status == Booking.Status.CONFIRMED
    else:
        assert not Booking.objects.exists()
    if role == "staff":
        assert "student" in response.json()


def test_a_student_books_a_seat_and_is_charged(as_role, world):
    response = as_role("student").post(URL, {"session": world.session.pk})
    assert response.status_code == 201
    body = response.json()
    assert (body["status"], body["credits_charged"], body["waitlist_position"]) == (
        "confirmed",
        1,
        None,
    )
    world.student.refresh_from_db()
    assert world.student.credit_balance == 9
    assert CreditTransaction.objects.filter(
        user=world.student, kind="booking", booking_id=body["id"], amount=-1
    ).exists()


def test_staff_book_for_a_student(as_role, world):
    response = as_role("staff").post(
        URL, {"session": world.session.pk, "student": world.student.pk}
    )
    assert response.status_code == 201
    assert response.json()["student"] == world.student.pk


def test_a_student_may_not_book_for_another(as_role, world):
    response = as_role("student").post(
        URL, {"session": world.session.pk, "student": world.other_student.pk}
    )
    assert response.status_code == 403
    assert response.json()["detail"] == "You may only book for yourself."
    assert not Booking.objects.exists()


def test_a_full_session_waitlists_without_charging(as_role, world):
    world.session.capacity = 1
    world.session.save()
    BookingFactory(session=world.session)
    response = as_role("student").post(URL, {"session": world.session.pk})
    assert response.status_code == 201
    body = response.json()
    assert (body["status"], body["credits_charged"], body["waitlist_position"]) == (
        "waitlisted",
        0,
        1,
    )
    world.student.refresh_from_db()
    assert world.student.credit_balance == 10


def test_joining_a_waitlist_needs_the_credits_of_the_seat(as_role, world):
    world.session.capacity, world.session.credit_cost = 1, 11
    world.session.save()
    BookingFactory(session=world.session)

    response = as_role("student").post(URL, {"session": world.session.pk})

    assert (response.status_code, response.json()) == (
        409,
        {
            "detail": "This session costs 11 credits; your balance is too low "
            "to join its waitlist.",
            "code": "insufficient_credits",
        },
    )
    assert not Booking.objects.filter(student=world.student).exists()


def test_a_new_waiter_is_told_their_place_behind_those_already_waiting(as_role, world):
    world.session.capacity = 1
    world.session.save()
    BookingFactory(session=world.session)
    BookingFactory.create_batch(2, session=world.session, status=Booking.Status.WAITLISTED)

    response = as_role("student").post(URL, {"session": world.session.pk})

    assert (response.status_code, response.json()["waitlist_position"]) == (201, 3)


def test_unknown_and_invisible_sessions_do_not_exist_for_a_student(as_role, world):
    closed = SemesterFactory(is_active=False)
    invisible = SessionFactory(semester=closed, instructor=closed.master_instructor)
    for session_id in (invisible.pk, 10**9):
        response = as_role("student").post(URL, {"session": session_id})
        assert response.status_code == 400
        assert "does not exist" in response.json()["session"][0]
    # Staff see every session: the same id is theirs to book for the student.
    assert (
        as_role("staff").post(URL, {"session": invisible.pk, "student": world.student.pk})
    ).status_code == 201


def _booked_before(world, session):
    """A session the student sees only because they booked it once."""
    BookingFactory(student=world.student, session=session, status=Booking.Status.CANCELLED)
    return session


@pytest.mark.parametrize(
    ("situation", "code", "detail"),
    [
        ("already_booked", "already_booked", "You already hold a booking for this session."),
        ("session_cancelled", "session_cancelled", "The session has been cancelled."),
        ("session_started", "session_started", "The session has already started."),
        ("not_eligible", "not_eligible", "You are not eligible for this session."),
        (
            "insufficient_credits",
            "insufficient_credits",
            "This session costs 11 credits; your balance is too low.",
        ),
    ],
)
def test_the_engine_refusals_are_409_with_their_code(as_role, world, situation, code, detail):
    session = world.session
    if situation == "already_booked":
        BookingFactory(student=world.student, session=session)
    elif situation == "session_cancelled":
        session = _booked_before(world, SessionFactory(semester=world.semester, status="cancelled"))
    elif situation == "session_started":
        session = PastSessionFactory(semester=world.semester)
    elif situation == "not_eligible":
        group = GroupFactory(semester=world.semester)
        session = _booked_before(world, SessionFactory(semester=world.semester, group=group))
    elif situation == "insufficient_credits":
        session.credit_cost = 11
        session.save()
    before = Booking.objects.live().count()
    response = as_role("student").post(URL, {"session": session.pk})
    assert response.status_code == 409
    assert response.json() == {"detail": detail, "code": code}
    assert Booking.objects.live().count() == before


def test_staff_cannot_book_a_non_student(as_role, world):
    response = as_role("staff").post(
        URL, {"session": world.session.pk, "student": world.instructor.pk}
    )
    assert response.status_code == 409
    assert response.json() == {"detail": "Only students can book sessions.", "code": "not_eligible"}


@pytest.mark.parametrize(
    "payload",
    [{}, {"session": "abc"}, {"session": None}, {"session": [1]}, {"session": {"id": 1}}],
)
def test_malformed_input_is_400(as_role, payload):
    response = as_role("student").post(URL, payload, format="json")
    assert response.status_code == 400
    assert "session" in response.json()


def test_malformed_json_is_400(as_role):
    response = as_role("student").post(URL, "{not json", content_type="application/json")
    assert response.status_code == 400


# role -> status of POST /bookings/{the student's}/cancel/.
CANCEL_TABLE = {
    "anonymous": 401,
    "student": 200,
    "other_student": 404,
    "instructor": 403,  # Sees the booking (their session) but may not cancel it.
    "master": 403,
    "other_instructor": 404,
    "staff": 200,
}


@pytest.mark.parametrize(("role", "status"), CANCEL_TABLE.items())
def test_who_may_cancel(as_role, bookings, role, status):
    booking = bookings["mine"]
    response = as_role(role).post(f"{URL}{booking.pk}/cancel/")
    assert response.status_code == status
    booking.refresh_from_db()
    assert (booking.status == Booking.Status.CANCELLED) == (status == 200)


@pytest.mark.parametrize("booking_id", ["abc", "0", "-1", "999999", str(2**63), "9" * 30])
def test_cancelling_an_id_that_names_no_booking_is_404(as_role, bookings, booking_id):
    response = as_role("staff").post(f"{URL}{booking_id}/cancel/")
    assert response.status_code == 404
    assert response.json()["detail"] == "No Booking matches the given query."


def test_cancelling_in_time_refunds_in_full(as_role, world):
    booked = as_role("student").post(URL, {"session": world.session.pk}).json()
    response = as_role("student").post(f"{URL}{booked['id']}/cancel/")
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["credits_refunded"]) == ("cancelled", 1)
    assert body["cancelled_at"] is not None
    world.student.refresh_from_db()
    assert world.student.credit_balance == 10


def test_cancelling_late_refunds_nothing(as_role, world, settings):
    world.session.date_start = timezone.now() + timedelta(hours=2)
    world.session.date_end = world.session.date_start + timedelta(hours=1)
    world.session.save()
    booked = as_role("student").post(URL, {"session": world.session.pk}).json()
    body = as_role("student").post(f"{URL}{booked['id']}/cancel/").json()
    assert body["credits_refunded"] == 0
    world.student.refresh_from_db()
    assert world.student.credit_balance == 9


def test_a_freed_seat_promotes_the_waitlist(as_role, world):
    world.session.capacity = 1
    world.session.save()
    mine = as_role("student").post(URL, {"session": world.session.pk}).json()
    theirs = as_role("other_student").post(URL, {"session": world.session.pk}).json()
    assert theirs["status"] == "waitlisted"
    as_role("student").post(f"{URL}{mine['id']}/cancel/")
    promoted = as_role("other_student").get(f"{URL}{theirs['id']}/").json()
    assert (promoted["status"], promoted["waitlist_position"]) == ("confirmed", None)


@pytest.mark.parametrize(
    ("situation", "code"),
    [("already_cancelled", "already_cancelled"), ("session_started", "session_started")],
)
def test_cancel_refusals_are_409(as_role, world, situation, code):
    if situation == "already_cancelled":
        booking = BookingFactory(
            student=world.student, session=world.session, status=Booking.Status.CANCELLED
        )
    else:
        booking = BookingFactory(
            student=world.student, session=PastSessionFactory(semester=world.semester)
        )
    response = as_role("student").post(f"{URL}{booking.pk}/cancel/")
    assert response.status_code == 409
    assert response.json()["code"] == code


@pytest.mark.parametrize("size", [1, 10, 100])
@pytest.mark.parametrize("role", ["student", "instructor", "staff"])
def test_list_queries_do_not_grow(token_client, django_assert_num_queries, world, role, size):
    student = world.student
    for n in range(size):
        session = SessionFactory(semester=world.semester, instructor=world.instructor)
        if n % 3 == 2:
            session.capacity = 1
            session.save()
            BookingFactory(session=session)
            BookingFactory(session=session, student=student, status=Booking.Status.WAITLISTED)
        else:
            BookingFactory(session=session, student=student)
    client = token_client(getattr(world, role))
    # The token with its user, the count, the page (waitlist places and names joined in).
    with django_assert_num_queries(3):
        response = client.get(URL, {"page_size": 500})
    assert response.status_code == 200
    assert response.json()["count"] >= size


def test_page_size_is_honoured(as_role, world):
    student = StudentFactory()
    CreditGrantFactory(user=student, amount=100)
    for _ in range(3):
        BookingFactory(student=student, session=SessionFactory(semester=world.semester))
    body = as_role("staff").get(URL, {"page_size": 2}).json()
    assert (body["count"], len(body["results"]), body["next"] is not None) == (3, 2, True)


@pytest.mark.parametrize("table", [LIST_TABLE, CREATE_TABLE, CANCEL_TABLE])
def test_every_table_covers_every_role(table):
    assert tuple(table) == ROLES
