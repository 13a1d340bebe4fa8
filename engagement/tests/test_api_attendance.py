"""/api/v1/attendance/: staff and the session's instructors record it (SPEC §3, §4)."""

import pytest

from bookings.models import Booking
from bookings.tests.api_world import ROLES, build_world
from bookings.tests.factories import BookingFactory
from engagement.models import Attendance
from engagement.tests.factories import AttendanceFactory
from scheduling.tests.factories import PastSessionFactory, SessionFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/attendance/"


@pytest.fixture
def world():
    """Both sessions have started: attendance is open on them."""
    return build_world(session_factory=PastSessionFactory)


@pytest.fixture
def records(world):
    BookingFactory(student=world.student, session=world.session)
    BookingFactory(student=world.other_student, session=world.other_session)
    return {
        "mine": AttendanceFactory(session=world.session, student=world.student),
        "other": AttendanceFactory(session=world.other_session, student=world.other_student),
    }


# role -> the attendance rows it sees (None: 401, "403": refused).
LIST_TABLE = {
    "anonymous": None,
    "student": "403",
    "other_student": "403",
    "instructor": {"mine"},
    "master": {"mine"},
    "other_instructor": {"other"},
    "staff": {"mine", "other"},
}


@pytest.mark.parametrize(("role", "expected"), LIST_TABLE.items())
def test_list_is_for_staff_and_the_sessions_instructors(as_role, records, role, expected):
    response = as_role(role).get(URL)
    if expected is None:
        assert response.status_code == 401
    elif expected == "403":
        assert response.status_code == 403
    else:
        assert response.status_code == 200
        assert {row["id"] for row in response.json()["results"]} == {
            records[name].pk for name in expected
        }


def test_representation_and_filters(as_role, world, records):
    client = as_role("staff")
    rows = client.get(URL, {"session": world.session.pk}).json()["results"]
    mine = records["mine"]
    assert rows == [
        {
            "id": mine.pk,
            "session": world.session.pk,
            "student": world.student.pk,
            "student_username": world.student.username,
            "status": "present",
            "marked_by": world.instructor.pk,
            "marked_at": rows[0]["marked_at"],
        }
    ]
    assert client.get(URL, {"student": world.other_student.pk}).json()["count"] == 1
    assert client.get(URL, {"status": "absent"}).json()["count"] == 0


# role -> status of recording the booked student's attendance on `session`.
CREATE_TABLE = {
    "anonymous": 401,
    "student": 403,
    "other_student": 403,
    "instructor": 201,
    "master": 201,
    "other_instructor": 403,
    "staff": 201,
}


@pytest.mark.parametrize(("role", "status"), CREATE_TABLE.items())
def test_who_records_attendance(as_role, world, role, status):
    BookingFactory(student=world.student, session=world.session)
    response = as_role(role).post(
        URL, {"session": world.session.pk, "student": world.student.pk, "status": "late"}
    )
    assert response.status_code == status
    if status == 201:
        attendance = Attendance.objects.get()
        assert (attendance.status, attendance.marked_by) == ("late", world.user(role))
        assert response.json()["id"] == attendance.pk
    else:
        assert not Attendance.objects.exists()


def test_recording_again_corrects_the_record(as_role, world, records):
    response = as_role("master").post(
        URL, {"session": world.session.pk, "student": world.student.pk, "status": "excused"}
    )
    assert response.status_code == 201
    assert response.json()["id"] == records["mine"].pk
    records["mine"].refresh_from_db()
    assert (records["mine"].status, records["mine"].marked_by) == ("excused", world.master)


@pytest.mark.parametrize(
    ("situation", "code"),
    [
        ("not_started", "session_not_started"),
        ("waitlisted", "not_booked"),
        ("none", "not_booked"),
        ("booked_elsewhere", "not_booked"),
    ],
)
def test_state_refusals_are_409(as_role, world, situation, code):
    session = world.session
    if situation == "not_started":
        session = SessionFactory(semester=world.semester, instructor=world.instructor)
        BookingFactory(student=world.student, session=session)
    elif situation == "waitlisted":
        BookingFactory(student=world.student, session=session, status=Booking.Status.WAITLISTED)
    elif situation == "booked_elsewhere":
        # The student's seat is on another session; someone else's is on this one.
        BookingFactory(student=world.student, session=world.other_session)
        BookingFactory(student=world.other_student, session=session)
    response = as_role("instructor").post(
        URL, {"session": session.pk, "student": world.student.pk, "status": "present"}
    )
    detail = {
        "session_not_started": "Attendance opens when the session starts.",
        "not_booked": f"{world.student} holds no confirmed booking for this session.",
    }[code]
    assert (response.status_code, response.json()) == (409, {"detail": detail, "code": code})
    assert not Attendance.objects.exists()


def test_a_mark_on_a_second_session_is_a_record_of_its_own(as_role, world):
    """The student's record on one session is not the one corrected on another."""
    second = PastSessionFactory(semester=world.semester, instructor=world.instructor)
    for session in (world.session, second):
        BookingFactory(student=world.student, session=session)
    client = as_role("instructor")

    for session, status in ((world.session, "present"), (second, "absent")):
        response = client.post(
            URL, {"session": session.pk, "student": world.student.pk, "status": status}
        )
        assert response.status_code == 201

    marks = Attendance.objects.filter(student=world.student).values_list("session_id", "status")
    assert sorted(marks) == sorted([(world.session.pk, "present"), (second.pk, "absent")])


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"student": "student", "status": "present"}, "session"),
        ({"session": 10**9, "student": "student", "status": "present"}, "session"),
        ({"session": "session", "student": 10**9, "status": "present"}, "student"),
        ({"session": "session", "student": "student", "status": "asleep"}, "status"),
        ({"session": "session", "student": "student"}, "status"),
    ],
)
def test_invalid_input_is_400_naming_the_field(as_role, world, payload, field):
    BookingFactory(student=world.student, session=world.session)
    payload = {
        name: getattr(world, value).pk if name != "status" and isinstance(value, str) else value
        for name, value in payload.items()
    }
    response = as_role("instructor").post(URL, payload, format="json")
    assert response.status_code == 400
    assert field in response.json()


# role -> status of PATCH {"status"} on the student's record.
PATCH_TABLE = {
    "anonymous": 401,
    "student": 403,
    "other_student": 403,
    "instructor": 200,
    "master": 200,
    "other_instructor": 404,
    "staff": 200,
}


@pytest.mark.parametrize(("role", "status"), PATCH_TABLE.items())
def test_who_corrects_attendance(as_role, world, records, role, status):
    mine = records["mine"]
    response = as_role(role).patch(f"{URL}{mine.pk}/", {"status": "absent"})
    assert response.status_code == status
    mine.refresh_from_db()
    assert mine.status == ("absent" if status == 200 else "present")
    if status == 200:
        assert mine.marked_by == world.user(role)
        assert response.json()["status"] == "absent"


def test_patch_validates_the_status(as_role, records):
    response = as_role("instructor").patch(f"{URL}{records['mine'].pk}/", {"status": "gone"})
    assert response.status_code == 400
    assert "status" in response.json()


@pytest.mark.parametrize("size", [1, 10, 100])
@pytest.mark.parametrize("role", ["instructor", "staff"])
def test_list_queries_do_not_grow(token_client, django_assert_num_queries, world, role, size):
    for _ in range(size):
        booking = BookingFactory(session=world.session)
        AttendanceFactory(session=world.session, student=booking.student)
    client = token_client(getattr(world, role))
    # The token with its user, the count, the page (student names joined in).
    with django_assert_num_queries(3):
        response = client.get(URL, {"page_size": 500})
    assert response.json()["count"] == size


@pytest.mark.parametrize("table", [LIST_TABLE, CREATE_TABLE, PATCH_TABLE])
def test_every_table_covers_every_role(table):
    assert tuple(table) == ROLES
