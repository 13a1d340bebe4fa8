from datetime import datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from accounts.tests.factories import InstructorFactory, StudentFactory
from activity.models import Activity
from bookings.models import Booking, CreditTransaction
from bookings.tests.factories import BookingFactory, CreditGrantFactory
from engagement.tests.factories import AttendanceFactory, FeedbackFactory, ProjectSessionFactory
from scheduling.models import Session
from scheduling.tests.api_world import ROLES, World, build_world, session_payload
from scheduling.tests.factories import (
    GroupFactory,
    PastSessionFactory,
    QualificationFactory,
    SemesterFactory,
    SessionFactory,
    SpecializationFactory,
)

pytestmark = pytest.mark.django_db

LIST = "/api/v1/sessions/"


def detail(session: Session, suffix: str = "") -> str:
    return f"/api/v1/sessions/{session.pk}/{suffix}"


@pytest.fixture
def world() -> World:
    return build_world()


# --- Representation -------------------------------------------------------------------------

SPEC_FIELDS = {
    "id", "title", "description", "semester", "instructor", "instructor_name", "group",
    "target_specialization", "mixed_specialization", "session_type", "status", "date_start",
    "date_end", "capacity", "credit_cost", "location", "meeting_link", "booking_count",
    "confirmed_count", "waitlist_count", "available_spots", "attendance_count",
    "feedback_count", "average_rating", "project_count", "created_at", "updated_at",
}  # fmt: skip
# Added by term planning: a deliberate overlap (staff, with its reason) and the series.
PLANNING_FIELDS = {"allow_overlap", "overlap_reason", "series"}


def test_a_session_carries_every_field_of_the_spec_and_its_statistics(token_client):
    spec = SpecializationFactory(code="LFA_COACH")
    instructor = InstructorFactory(first_name="Ada", last_name="Coach")
    QualificationFactory(instructor=instructor, specialization=spec)
    session = PastSessionFactory(
        instructor=instructor, target_specialization=spec, capacity=2, title="Rondo"
    )
    confirmed = BookingFactory.create_batch(2, session=session)
    BookingFactory(session=session, status="waitlisted")
    BookingFactory(session=session, status="cancelled")
    AttendanceFactory(session=session, student=confirmed[0].student, status="present")
    AttendanceFactory(session=session, student=confirmed[1].student, status="late")
    FeedbackFactory(session=session, student=confirmed[0].student, rating=4)
    FeedbackFactory(session=session, student=confirmed[1].student, rating=5)
    ProjectSessionFactory(session=session)

    client = token_client(session.semester.master_instructor)
    body = client.get(detail(session)).json()

    assert set(body) == SPEC_FIELDS | PLANNING_FIELDS
    assert body["instructor_name"] == "Ada Coach"
    assert body["target_specialization"] == "LFA_COACH"
    assert body["semester"] == session.semester_id
    # ISO 8601 with an offset ("Z" for UTC), the same instant as stored.
    assert datetime.fromisoformat(body["date_start"]) == session.date_start
    assert datetime.fromisoformat(body["date_start"]).utcoffset() is not None
    assert {name: body[name] for name in SPEC_FIELDS if "count" in name or "spots" in name} == {
        "booking_count": 3,
        "confirmed_count": 2,
        "waitlist_count": 1,
        "available_spots": 0,
        "attendance_count": 2,
        "feedback_count": 2,
        "project_count": 1,
    }
    assert body["average_rating"] == pytest.approx(4.5)
    # The list renders rows (SessionQuerySet.as_rows()), the detail a Session: same output.
    assert (
        next(row for row in client.get(LIST).json()["results"] if row["id"] == session.pk) == body
    )


# --- Permission table -------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_list_and_retrieve_need_authentication_only(as_role, world, role):
    expected = 401 if role == "anonymous" else 200
    assert as_role(role).get(LIST).status_code == expected
    assert as_role(role).get(detail(world.session)).status_code == expected


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("anonymous", 401),
        ("student", 403),
        ("other_student", 403),
        ("instructor", 403),
        ("master", 201),
        ("staff", 201),
    ],
)
def test_create_is_for_staff_and_the_master_instructor(as_role, world, role, expected):
    before = Session.objects.count()

    response = as_role(role).post(LIST, session_payload(world))

    assert response.status_code == expected
    assert Session.objects.count() == before + (expected == 201)
    if expected == 403:
        assert response.json()["code"] == "permission_denied"


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("anonymous", 401),
        ("student", 403),
        ("other_student", 403),
        ("instructor", 403),
        ("master", 200),
        ("staff", 200),
    ],
)
@pytest.mark.parametrize("method", ["patch", "put"])
def test_update_is_for_staff_and_the_master_instructor(as_role, world, role, expected, method):
    body = {"title": "Renamed"}
    if method == "put":
        body = session_payload(world, title="Renamed", session_type="virtual")
    response = getattr(as_role(role), method)(detail(world.session), body)

    assert response.status_code == expected
    world.session.refresh_from_db()
    assert (world.session.title == "Renamed") == (expected == 200)


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("anonymous", 401),
        ("student", 403),
        ("other_student", 403),
        ("instructor", 403),
        ("master", 204),
        ("staff", 204),
    ],
)
def test_delete_is_for_staff_and_the_master_instructor(as_role, world, role, expected):
    unbooked = SessionFactory(semester=world.semester, instructor=world.instructor)

    response = as_role(role).delete(detail(unbooked))

    assert response.status_code == expected
    assert Session.objects.filter(pk=unbooked.pk).exists() == (expected != 204)


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("anonymous", 401),
        ("student", 403),
        ("other_student", 403),
        ("instructor", 403),
        ("master", 200),
        ("staff", 200),
    ],
)
def test_cancel_is_for_staff_and_the_master_instructor(as_role, world, role, expected):
    response = as_role(role).post(detail(world.session, "cancel/"))

    assert response.status_code == expected
    world.session.refresh_from_db()
    assert (world.session.status == "cancelled") == (expected == 200)


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("anonymous", 401),
        ("student", 403),
        ("other_student", 403),
        ("outsider_instructor", 403),
        ("instructor", 200),
        ("master", 200),
        ("staff", 200),
    ],
)
def test_roster_is_for_staff_and_the_session_instructors(as_role, world, role, expected):
    response = as_role(role).get(detail(world.session, "bookings/"))
    assert response.status_code == expected


# --- Rules of SPEC §3 on the session endpoints ---------------------------------------------


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"date_end": "start"}, "date_end", "The session must end after it starts."),
        ({"capacity": 0}, "capacity", "Capacity must be at least 1."),
        ({"group": "other semester's"}, "group", "The group belongs to another semester."),
        (
            {"meeting_link": "https://meet.example.com/x"},
            "meeting_link",
            "A meeting link is only allowed for virtual sessions.",
        ),
        (
            {"session_type": "virtual", "meeting_link": "ftp://meet.example.com/x"},
            "meeting_link",
            "Enter a valid URL.",
        ),
        ({"allow_overlap": True}, "overlap_reason", "Allowing an overlap needs a reason."),
    ],
)
def test_a_session_that_ends_as_it_starts_or_seats_nobody_is_400(
    token_client, world, change, field, message
):
    payload = session_payload(world)
    if change.get("date_end") == "start":
        change = {"date_end": payload["date_start"]}
    if change.get("group") == "other semester's":
        change = {"group": GroupFactory().pk}
    client = token_client(world.staff if "allow_overlap" in change else world.master)
    response = client.post(LIST, {**payload, **change}, format="json")

    assert (response.status_code, response.json()[field]) == (400, [message])


def test_a_target_specialization_needs_an_active_qualification(token_client, world):
    spec = SpecializationFactory(code="GK")
    client = token_client(world.master)
    payload = session_payload(world, target_specialization="GK")

    # A qualification in another specialization is none for this one.
    QualificationFactory(instructor=world.instructor, specialization=SpecializationFactory())
    refused = client.post(LIST, payload)
    QualificationFactory(
        instructor=world.instructor,
        specialization=spec,
        valid_from=timezone.localdate() - timedelta(days=30),
        valid_until=timezone.localdate() - timedelta(days=1),
    )
    expired = client.post(LIST, payload)
    QualificationFactory(instructor=world.instructor, specialization=spec)
    accepted = client.post(LIST, payload)

    assert refused.status_code == 403
    assert refused.json() == {
        "detail": f"{world.instructor} holds no active qualification for {spec}.",
        "code": "not_qualified",
    }
    assert expired.status_code == 403
    assert accepted.status_code == 201
    assert accepted.json()["target_specialization"] == "GK"


def test_changing_the_instructor_to_an_unqualified_one_is_refused(token_client, world):
    spec = SpecializationFactory()
    QualificationFactory(instructor=world.instructor, specialization=spec)
    session = SessionFactory(
        semester=world.semester, instructor=world.instructor, target_specialization=spec
    )

    response = token_client(world.master).patch(
        detail(session), {"instructor": world.outsider_instructor.pk}
    )

    assert response.status_code == 403
    session.refresh_from_db()
    assert session.instructor == world.instructor


def test_changing_the_specialization_to_one_the_instructor_lacks_is_refused(token_client, world):
    held, lacked = SpecializationFactory(), SpecializationFactory()
    QualificationFactory(instructor=world.instructor, specialization=held)
    session = SessionFactory(
        semester=world.semester, instructor=world.instructor, target_specialization=held
    )

    response = token_client(world.master).patch(
        detail(session), {"target_specialization": lacked.code}
    )

    assert (response.status_code, response.json()["code"]) == (403, "not_qualified")
    session.refresh_from_db()
    assert session.target_specialization == held


def test_the_semester_cannot_change_on_update(token_client, world):
    other = SemesterFactory(master_instructor=world.master)
    client = token_client(world.staff)

    moved = client.patch(detail(world.session), {"semester": other.pk})
    kept = client.patch(detail(world.session), {"semester": world.semester.pk, "title": "Same"})

    assert moved.status_code == 400
    assert list(moved.json()) == ["semester"]
    assert kept.status_code == 200
    world.session.refresh_from_db()
    assert world.session.semester == world.semester


def _iso(days: float) -> str:
    return (timezone.now() + timedelta(days=days)).isoformat()


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"date_start": _iso(5), "date_end": _iso(4)}, "date_end"),
        ({"date_start": _iso(-90), "date_end": _iso(-89)}, "date_start"),
        ({"date_start": _iso(200), "date_end": _iso(201)}, "date_end"),
        ({"meeting_link": "https://meet.example.test/x"}, "meeting_link"),
        ({"session_type": "virtual", "meeting_link": "ftp://files.example.test"}, "meeting_link"),
        ({"session_type": "virtual", "meeting_link": "not a url"}, "meeting_link"),
        ({"capacity": 0}, "capacity"),
        ({"credit_cost": -1}, "credit_cost"),
        ({"session_type": "teleport"}, "session_type"),
        ({"instructor": 999999}, "instructor"),
        ({"semester": 999999}, "semester"),
        ({"semester": "abc"}, "semester"),
        ({"target_specialization": "NOPE"}, "target_specialization"),
        ({"date_start": "yesterday-ish"}, "date_start"),
        ({"title": ""}, "title"),
    ],
)
def test_invalid_input_is_400_naming_the_field(token_client, world, overrides, field):
    before = Session.objects.count()

    response = token_client(world.staff).post(LIST, session_payload(world, **overrides))

    assert response.status_code == 400
    assert field in response.json()
    assert Session.objects.count() == before


def test_a_group_of_another_semester_is_400_naming_the_group(token_client, world):
    stranger = GroupFactory()
    response = token_client(world.staff).post(LIST, session_payload(world, group=stranger.pk))
    assert response.status_code == 400
    assert "group" in response.json()


def test_an_on_site_session_takes_the_semesters_location(token_client, world):
    response = token_client(world.master).post(LIST, session_payload(world, location=""))
    assert response.status_code == 201
    assert response.json()["location"] == world.semester.location


def test_a_virtual_session_keeps_its_link_and_loses_it_when_it_stops_being_virtual(
    token_client, world
):
    client = token_client(world.master)
    created = client.post(
        LIST,
        session_payload(world, session_type="virtual", meeting_link="https://meet.example.test/a"),
    )
    assert created.json()["meeting_link"] == "https://meet.example.test/a"

    changed = client.patch(f"{LIST}{created.json()['id']}/", {"session_type": "hybrid"})

    assert changed.status_code == 200
    assert changed.json()["meeting_link"] is None
    assert Session.objects.get(pk=created.json()["id"]).meeting_link == ""


def test_lowering_capacity_below_the_confirmed_count_is_409(token_client, world):
    BookingFactory(session=world.session)

    response = token_client(world.master).patch(detail(world.session), {"capacity": 1})

    assert response.status_code == 409
    assert response.json()["code"] == "capacity_below_confirmed"
    world.session.refresh_from_db()
    assert world.session.capacity == 20


def test_raising_capacity_promotes_the_waitlist(token_client, world):
    Session.objects.filter(pk=world.session.pk).update(capacity=1)
    waiting = BookingFactory(session=world.session, status="waitlisted")
    CreditGrantFactory(user=waiting.student, amount=5)

    response = token_client(world.master).patch(detail(world.session), {"capacity": 2})

    assert response.status_code == 200
    assert response.json()["confirmed_count"] == 2
    assert response.json()["waitlist_count"] == 0
    waiting.refresh_from_db()
    assert waiting.status == "confirmed"


def test_a_cancelled_session_cannot_be_edited(token_client, world):
    Session.objects.filter(pk=world.session.pk).update(status="cancelled")
    response = token_client(world.master).patch(detail(world.session), {"title": "Again"})
    assert (response.status_code, response.json()) == (
        409,
        {"detail": "A cancelled session cannot be edited.", "code": "session_cancelled"},
    )


def test_status_is_not_writable_outside_cancel(token_client, world):
    response = token_client(world.master).patch(detail(world.session), {"status": "cancelled"})
    world.session.refresh_from_db()
    assert response.status_code == 200
    assert world.session.status == "scheduled"


NO_BLOCKERS = {"bookings": 0, "attendance": 0, "feedback": 0, "projects": 0}


@pytest.mark.parametrize(
    ("make_blockers", "relation", "count"),
    [
        (lambda s: BookingFactory.create_batch(2, session=s, status="cancelled"), "bookings", 2),
        (lambda s: BookingFactory(session=s, status="waitlisted"), "bookings", 1),
        (lambda s: AttendanceFactory(session=s), "attendance", 1),
        (lambda s: FeedbackFactory.create_batch(3, session=s), "feedback", 3),
        (lambda s: ProjectSessionFactory(session=s), "projects", 1),
    ],
)
def test_delete_refused_is_409_naming_each_blocking_relation(
    token_client, world, make_blockers, relation, count
):
    session = PastSessionFactory(semester=world.semester)
    make_blockers(session)

    response = token_client(world.staff).delete(detail(session))

    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "protected"
    assert body["blocking"] == {**NO_BLOCKERS, relation: count}
    assert body["detail"]
    assert Session.objects.filter(pk=session.pk).exists()


def test_cancel_refunds_confirmed_bookings_and_cancels_open_ones(token_client, world):
    Session.objects.filter(pk=world.session.pk).update(capacity=2, credit_cost=3)
    world.session.refresh_from_db()
    second = BookingFactory(session=world.session)
    waiting = BookingFactory(session=world.session, status="waitlisted")
    first = Booking.objects.get(session=world.session, student=world.student)
    charged = first.credits_charged + second.credits_charged

    response = token_client(world.master).post(detail(world.session, "cancel/"))

    assert response.status_code == 200
    body = response.json()
    assert body["bookings_cancelled"] == 3
    assert body["credits_refunded"] == charged
    assert body["session"]["status"] == "cancelled"
    assert body["session"]["booking_count"] == 0
    assert set(
        Booking.objects.filter(pk__in=[first.pk, second.pk, waiting.pk]).values_list(
            "status", flat=True
        )
    ) == {"cancelled"}
    for booking in (first, second):
        student = User.objects.get(pk=booking.student_id)
        ledger = CreditTransaction.objects.filter(user=student)
        assert student.credit_balance == sum(ledger.values_list("amount", flat=True))
        refund = ledger.filter(kind="refund", booking=booking).get()
        assert (refund.amount, refund.note, refund.created_by_id) == (
            booking.credits_charged,
            "Session cancelled: full refund",
            world.master.pk,
        )


def test_cancelling_a_free_seat_refunds_nothing_and_writes_no_ledger_row(token_client, world):
    """A confirmed booking charged 0 credits (the cost was 0 when it was made) is
    cancelled with its session: no refund row, and 0 in the response and the activity."""
    session = SessionFactory(semester=world.session.semester, credit_cost=0)
    free = BookingFactory(session=session)
    rows_before = CreditTransaction.objects.count()

    response = token_client(world.master).post(detail(session, "cancel/"))

    assert (response.status_code, response.json()["credits_refunded"]) == (200, 0)
    assert CreditTransaction.objects.count() == rows_before
    cancelled = Activity.objects.get(verb="booking.cancelled", target_id=free.pk)
    assert cancelled.data["credits_refunded"] == 0


def test_cancelling_twice_is_409(token_client, world):
    client = token_client(world.staff)
    assert client.post(detail(world.session, "cancel/")).status_code == 200
    again = client.post(detail(world.session, "cancel/"))
    assert (again.status_code, again.json()["code"]) == (409, "session_cancelled")


def test_cancel_honours_an_idempotency_key(token_client, world):
    client = token_client(world.staff)
    headers = {"HTTP_IDEMPOTENCY_KEY": "cancel-once"}

    first = client.post(detail(world.session, "cancel/"), **headers)
    replay = client.post(detail(world.session, "cancel/"), **headers)

    assert first.status_code == replay.status_code == 200
    assert replay.json() == first.json()
    assert replay["Idempotent-Replayed"] == "true"
    assert CreditTransaction.objects.filter(kind="refund").count() == 1


def test_the_roster_shows_waitlist_positions_first_come_first_served(token_client, world):
    Session.objects.filter(pk=world.session.pk).update(capacity=1)
    later = timezone.now()
    waiting = [BookingFactory(session=world.session, status="waitlisted") for _ in range(3)]
    # The oldest waits first whatever the ids say.
    Booking.objects.filter(pk=waiting[2].pk).update(created_at=later - timedelta(hours=1))
    cancelled = BookingFactory(session=world.session, status="cancelled")

    body = token_client(world.instructor).get(detail(world.session, "bookings/")).json()

    positions = {row["id"]: row["waitlist_position"] for row in body["results"]}
    assert body["count"] == 5
    assert positions[waiting[2].pk] == 1
    assert positions[waiting[0].pk] == 2
    assert positions[waiting[1].pk] == 3
    assert positions[cancelled.pk] is None
    confirmed = Booking.objects.get(session=world.session, student=world.student)
    assert positions[confirmed.pk] is None
    row = next(row for row in body["results"] if row["id"] == confirmed.pk)
    assert row["student"] == world.student.pk
    assert row["student_username"] == world.student.username
    assert row["status"] == "confirmed"


def test_the_roster_is_paginated(token_client, world):
    BookingFactory.create_batch(4, session=world.session)
    body = token_client(world.staff).get(detail(world.session, "bookings/?page_size=2")).json()
    assert body["count"] == 5
    assert len(body["results"]) == 2
    assert body["next"] is not None


def test_the_roster_of_a_session_a_student_cannot_see_is_404(token_client):
    hidden = SessionFactory(semester=SemesterFactory(is_active=False))
    response = token_client(StudentFactory()).get(detail(hidden, "bookings/"))
    assert response.status_code == 404


# --- Who sees which sessions -------------------------------------------------------------------


def _ids(response) -> set[int]:
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


@pytest.fixture
def catalogue():
    """Sessions that differ in one visibility condition each, and the student judging them."""
    spec, other_spec = SpecializationFactory(), SpecializationFactory()
    student = StudentFactory(specialization=spec)
    # The foreign group has a member, so only the student's own membership counts.
    member_group, foreign_group = (
        GroupFactory(members=[student]),
        GroupFactory(members=[StudentFactory()]),
    )
    today = timezone.localdate()
    future = SemesterFactory(
        start_date=today + timedelta(days=10), end_date=today + timedelta(days=100)
    )
    sessions = {
        "open": SessionFactory(),
        "inactive_semester": SessionFactory(semester=SemesterFactory(is_active=False)),
        "future_semester": SessionFactory(
            semester=future, date_start=timezone.now() + timedelta(days=20)
        ),
        "member_group": SessionFactory(group=member_group, semester=member_group.semester),
        "foreign_group": SessionFactory(group=foreign_group, semester=foreign_group.semester),
        "own_specialization": SessionFactory(target_specialization=spec),
        "other_specialization": SessionFactory(target_specialization=other_spec),
        "mixed_specialization": SessionFactory(
            target_specialization=other_spec, mixed_specialization=True
        ),
    }
    booked_hidden = SessionFactory(semester=SemesterFactory(is_active=False))
    BookingFactory(student=student, session=booked_hidden, status="cancelled")
    sessions["booked_in_inactive_semester"] = booked_hidden
    # Booked once, so visible, but in a group the student is not in: not bookable.
    booked_foreign = SessionFactory(group=foreign_group, semester=foreign_group.semester)
    BookingFactory(student=student, session=booked_foreign, status="cancelled")
    sessions["booked_in_foreign_group"] = booked_foreign
    # Someone else's booking reveals nothing: only the viewer's own bookings count.
    booked_by_another = SessionFactory(semester=SemesterFactory(is_active=False))
    BookingFactory(session=booked_by_another)
    sessions["booked_by_another_in_inactive_semester"] = booked_by_another
    return student, sessions


VISIBLE_TO_STUDENT = {
    "open": True,
    "inactive_semester": False,
    "future_semester": False,
    "member_group": True,
    "foreign_group": False,
    "own_specialization": True,
    "other_specialization": False,
    "mixed_specialization": True,
    "booked_in_inactive_semester": True,
    "booked_by_another_in_inactive_semester": False,
    "booked_in_foreign_group": True,
}


@pytest.mark.parametrize(("name", "visible"), VISIBLE_TO_STUDENT.items())
def test_students_see_their_current_eligible_catalogue_and_their_bookings(
    token_client, catalogue, name, visible
):
    student, sessions = catalogue
    client = token_client(student)

    listed = sessions[name].pk in _ids(client.get(LIST))
    retrieved = client.get(detail(sessions[name]))

    assert listed == visible
    assert retrieved.status_code == (200 if visible else 404)


def test_the_schedule_page_lists_what_the_student_sees_and_may_book(client, catalogue):
    """The student's schedule is the API's list (`visible_to`) narrowed to the sessions
    they are eligible for (`eligible_for`): a booking keeps a session visible, not
    bookable."""
    student, sessions = catalogue
    client.force_login(student)
    page = client.get(reverse("student:schedule")).content.decode()

    listed = {
        name for name, session in sessions.items()
        if reverse("student:session", args=[session.pk]) in page
    }  # fmt: skip
    bookable = {name for name, visible in VISIBLE_TO_STUDENT.items() if visible}
    assert listed == bookable - {"booked_in_foreign_group"}


def test_the_session_page_offers_no_booking_to_an_ineligible_student(client, catalogue):
    student, sessions = catalogue
    client.force_login(student)
    offers = {
        name: client.get(reverse("student:session", args=[sessions[name].pk])).context["offer"]
        for name in ("open", "booked_in_foreign_group")
    }
    assert offers["booked_in_foreign_group"].label == "Only for the members of its group"
    assert not offers["booked_in_foreign_group"].can_book
    assert offers["open"].label != "Only for the members of its group"


def test_a_student_without_specialization_sees_only_untargeted_or_mixed(token_client, catalogue):
    _, sessions = catalogue
    seen = _ids(token_client(StudentFactory()).get(LIST))
    assert sessions["open"].pk in seen
    assert sessions["mixed_specialization"].pk in seen
    assert sessions["own_specialization"].pk not in seen


@pytest.mark.parametrize("make_user", [InstructorFactory, lambda: build_world().staff])
def test_staff_and_instructors_see_every_session(token_client, catalogue, make_user):
    _, sessions = catalogue
    assert _ids(token_client(make_user()).get(LIST)) >= {s.pk for s in sessions.values()}


@pytest.mark.parametrize("method", ["patch", "delete", "post"])
def test_writes_on_a_session_a_student_cannot_see_are_404(token_client, method):
    hidden = SessionFactory(semester=SemesterFactory(is_active=False))
    client = token_client(StudentFactory())
    url = detail(hidden, "cancel/") if method == "post" else detail(hidden)
    assert getattr(client, method)(url, {}).status_code == 404


# --- meeting_link ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "sees_link"),
    [
        ("student", True),
        ("other_student", False),
        ("outsider_instructor", False),
        ("instructor", True),
        ("master", True),
        ("staff", True),
    ],
)
def test_the_meeting_link_is_shown_only_to_whom_the_spec_names(as_role, world, role, sees_link):
    client = as_role(role)
    expected = world.session.meeting_link if sees_link else None

    listed = next(
        row for row in client.get(LIST).json()["results"] if row["id"] == world.session.pk
    )
    retrieved = client.get(detail(world.session)).json()

    assert listed["meeting_link"] == retrieved["meeting_link"] == expected
    # The list renders rows (SessionQuerySet.as_rows()), the detail a Session: same output.
    assert listed == retrieved


@pytest.mark.parametrize("status", ["waitlisted", "cancelled"])
def test_a_booking_that_is_not_confirmed_does_not_show_the_link(token_client, world, status):
    student = StudentFactory()
    BookingFactory(student=student, session=world.session, status=status)
    assert token_client(student).get(detail(world.session)).json()["meeting_link"] is None


# --- Filters, ordering, pagination ---------------------------------------------------------------


@pytest.fixture
def spread(world):
    """A few sessions that differ in the filtered fields, all visible to staff."""
    spec = SpecializationFactory(code="SPRINT")
    QualificationFactory(instructor=world.instructor, specialization=spec)
    group = GroupFactory(semester=world.semester)
    now = timezone.now().replace(minute=0, second=0, microsecond=0)
    return {
        "world": world.session,
        "early_cheap": SessionFactory(
            semester=world.semester, date_start=now + timedelta(days=1), credit_cost=0,
            title="Alpha drills", capacity=1,
        ),
        "late_grouped": SessionFactory(
            semester=world.semester, date_start=now + timedelta(days=10), group=group,
            credit_cost=5, title="Zulu tactics", description="Pressing traps",
        ),
        "targeted_hybrid": SessionFactory(
            semester=world.semester, instructor=world.instructor, target_specialization=spec,
            session_type="hybrid", date_start=now + timedelta(days=6), title="Mike sprint",
            status="cancelled",
        ),
        "group": group,
    }  # fmt: skip


def test_filters_narrow_the_list(token_client, world, spread):
    client = token_client(world.staff)
    BookingFactory(session=spread["early_cheap"])  # now full
    late = spread["late_grouped"]

    def ids(query: str) -> set[int]:
        return _ids(client.get(f"{LIST}?{query}"))

    assert ids(f"semester={world.semester.pk}") == {
        spread[name].pk for name in ("world", "early_cheap", "late_grouped", "targeted_hybrid")
    }
    assert ids(f"instructor={world.instructor.pk}") == {
        world.session.pk,
        spread["targeted_hybrid"].pk,
    }
    assert ids("session_type=hybrid") == {spread["targeted_hybrid"].pk}
    assert ids("status=cancelled") == {spread["targeted_hybrid"].pk}
    assert ids(f"group={spread['group'].pk}") == {late.pk}
    assert ids("target_specialization=SPRINT") == {spread["targeted_hybrid"].pk}
    from_ = (late.date_start - timedelta(hours=1)).isoformat()
    assert ids(f"date_from={from_.replace('+', '%2B')}") == {late.pk}
    to = (spread["early_cheap"].date_start + timedelta(hours=1)).isoformat()
    assert ids(f"date_to={to.replace('+', '%2B')}") == {spread["early_cheap"].pk}
    assert spread["early_cheap"].pk in ids("has_spots=false")
    assert spread["early_cheap"].pk not in ids("has_spots=true")
    assert ids("search=pressing") == {late.pk}
    assert ids("search=zulu") == {late.pk}


def test_has_spots_means_bookable_now(token_client, world, spread):
    """A free seat counts only where a student could book it: a session that has started
    (seats free) and a cancelled one (seats free) are not `has_spots=true`."""
    client = token_client(world.staff)
    started = PastSessionFactory(semester=world.semester, title="Already running", capacity=5)
    cancelled = spread["targeted_hybrid"]  # cancelled, capacity 20, nobody booked
    late = spread["late_grouped"]  # upcoming, scheduled, seats free
    with_spots = _ids(client.get(f"{LIST}?has_spots=true"))
    without = _ids(client.get(f"{LIST}?has_spots=false"))
    assert late.pk in with_spots and late.pk not in without
    for excluded in (started, cancelled):
        assert excluded.pk not in with_spots
        assert excluded.pk in without


@pytest.mark.parametrize(
    ("ordering", "first", "last"),
    [
        ("date_start", "early_cheap", "late_grouped"),
        ("-date_start", "late_grouped", "early_cheap"),
        ("title", "early_cheap", "late_grouped"),
        ("credit_cost", "early_cheap", "late_grouped"),
        ("-confirmed_count", "world", None),
    ],
)
def test_ordering(token_client, world, spread, ordering, first, last):
    body = token_client(world.staff).get(f"{LIST}?ordering={ordering}").json()
    ids = [row["id"] for row in body["results"]]
    assert ids[0] == spread[first].pk
    if last:
        assert ids[-1] == spread[last].pk


def test_the_unfiltered_list_is_the_filter_forms_list_with_no_filter(token_client, world, spread):
    """Without a filter parameter the form is skipped (SessionFilterBackend); an empty
    value goes through it. Both give the same rows in the same stable order."""
    # Same start, so only the id tiebreak orders them (three instructors: one may not
    # teach overlapping sessions).
    for _ in range(3):
        SessionFactory(
            semester=world.semester,
            instructor=InstructorFactory(),
            date_start=spread["late_grouped"].date_start,
        )
    client = token_client(world.staff)

    def rows(query: str) -> list[dict]:
        response = client.get(f"{LIST}?page_size=3&{query}")
        assert response.status_code == 200
        pages = [response.json()["results"]]
        for page in (2, 3):
            pages.append(client.get(f"{LIST}?page_size=3&page={page}&{query}").json()["results"])
        return [row for page in pages for row in page]

    unfiltered = rows("")
    assert len(unfiltered) == 7
    assert unfiltered == sorted(unfiltered, key=lambda row: (row["date_start"], row["id"]))
    assert rows("status=") == unfiltered
    assert rows("search=") == unfiltered


@pytest.mark.parametrize(
    "query",
    [
        "semester=abc",
        "semester=1.5",
        "semester=0",
        "group=99999999999999999999999",
        "instructor=x",
        "group=%00",
        "session_type=teleport",
        "status=maybe",
        "date_from=not-a-date",
        "date_to=2026-13-45",
        "has_spots=perhaps",
        "ordering=password",
        "target_specialization=" + "X" * 40,
    ],
)
def test_invalid_filter_values_are_400(token_client, world, query):
    response = token_client(world.staff).get(f"{LIST}?{query}")
    assert response.status_code == 400
    assert query.split("=")[0] in response.json()


def test_pages_follow_page_and_page_size(token_client, world):
    SessionFactory.create_batch(4, semester=world.semester)
    client = token_client(world.staff)

    first = client.get(f"{LIST}?page_size=2").json()
    last = client.get(f"{LIST}?page_size=2&page=3").json()
    capped = client.get(f"{LIST}?page_size=100000").json()

    assert first["count"] == 5
    assert len(first["results"]) == 2
    assert first["previous"] is None
    assert "page=2" in first["next"]
    assert len(last["results"]) == 1
    assert last["next"] is None
    every = {row["id"] for row in first["results"]} | {row["id"] for row in last["results"]}
    assert len(every) == 3
    assert len(capped["results"]) == 5


@pytest.mark.parametrize("page", ["99", "0", "abc"])
def test_a_page_out_of_range_is_404(token_client, world, page):
    assert token_client(world.staff).get(f"{LIST}?page={page}").status_code == 404


# --- Malformed input never gets a 5xx -------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body", "expected"),
    [
        ("get", "/api/v1/sessions/abc/", None, 404),
        ("get", "/api/v1/sessions/99999999999999999999999/", None, 404),
        ("get", "/api/v1/sessions/-1/", None, 404),
        ("post", "/api/v1/sessions/abc/cancel/", None, 404),
        ("get", "/api/v1/sessions/abc/bookings/", None, 404),
        ("post", "/api/v1/sessions/", [1, 2, 3], 400),
        ("post", "/api/v1/sessions/", "just a string", 400),
        ("post", "/api/v1/sessions/", {"title": {"nested": True}}, 400),
        ("post", "/api/v1/sessions/", {"capacity": 10**30}, 400),
        ("patch", "/api/v1/sessions/{id}/", {"capacity": "many"}, 400),
        ("patch", "/api/v1/sessions/{id}/", {"date_start": None}, 400),
        ("patch", "/api/v1/sessions/{id}/", {"semester": "x"}, 400),
        ("patch", "/api/v1/sessions/{id}/", {"group": 10**30}, 400),
        ("patch", "/api/v1/sessions/{id}/", {"instructor": [1]}, 400),
        ("get", "/api/v1/sessions/?semester=99999999999999999999999", None, 400),
        ("get", "/api/v1/sessions/?instructor=9223372036854775807", None, 200),
        ("get", "/api/v1/sessions/?page_size=-5&page=1", None, 400),
    ],
)
def test_malformed_requests_get_a_4xx(token_client, world, method, path, body, expected):
    client = token_client(world.staff)
    response = getattr(client, method)(path.replace("{id}", str(world.session.pk)), body)
    assert response.status_code == expected


def test_a_body_that_is_not_json_is_400(token_client, world):
    response = token_client(world.staff).generic(
        "POST", LIST, "{not json", content_type="application/json"
    )
    assert response.status_code == 400
