"""Who may call what: every operation of the API, for every role, in one table.

The operations are enumerated from the OpenAPI schema and from the URL resolver, so
a new endpoint (or method) without a row in MATRIX fails
`test_every_operation_has_a_row`. Each row is run for each role against a fresh
world in which `student` owns a booking, a ledger row, an attendance row and a
feedback: what belongs to somebody else answers 404 (or 403 where a whole kind of
record is closed to a role), and the lists carry only the caller's rows.

Roles: anonymous, student, other_student (same role, owns nothing of `student`'s),
instructor (teaches the sessions, does not manage the semester), master (the
semester's master instructor), staff.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import time, timedelta
from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from rest_framework.authtoken.models import Token

from accounts.models import User
from accounts.tests.factories import (
    DEFAULT_PASSWORD,
    InstructorFactory,
    StaffFactory,
    StudentFactory,
)
from bookings.models import Booking, CreditTransaction
from bookings.tests.factories import BookingFactory, CreditGrantFactory
from config.tests.openapi_contract import openapi_document
from engagement.models import Attendance, Feedback, Project
from engagement.tests.factories import AttendanceFactory, FeedbackFactory, ProjectFactory
from scheduling.models import Group, Semester, Session, SessionSeries, Specialization
from scheduling.series import series_create
from scheduling.tests.factories import (
    GroupFactory,
    PastSessionFactory,
    SemesterFactory,
    SessionFactory,
    SpecializationFactory,
)
from webhooks.models import WebhookDelivery
from webhooks.tests.factories import WebhookEndpointFactory

pytestmark = pytest.mark.django_db

ROLES = ("anonymous", "student", "other_student", "instructor", "master", "staff")
API = "/api/v1"


@dataclass
class World:
    student: User
    other_student: User
    instructor: User
    master: User
    staff: User
    semester: Semester
    spare_semester: Semester
    specialization: Specialization
    group: Group
    session: Session
    spare_session: Session
    past_session: Session
    booking: Booking
    credit: CreditTransaction
    attendance: Attendance
    feedback: Feedback
    project: Project
    # In another semester, taught and managed by another instructor: `instructor` and
    # `master` must not see its rows; `other_student` owns them.
    foreign_session: Session
    series: SessionSeries

    def user(self, role: str) -> User | None:
        return None if role == "anonymous" else getattr(self, role)

    webhook: Any = None
    webhook_delivery: Any = None


def build_world() -> World:
    master = InstructorFactory()
    instructor = InstructorFactory()
    semester = SemesterFactory(master_instructor=master)
    student, other_student = StudentFactory(), StudentFactory()
    session = SessionFactory(semester=semester, instructor=instructor)
    past_session = PastSessionFactory(semester=semester, instructor=instructor)
    booking = BookingFactory(student=student, session=session)
    foreign_session = PastSessionFactory()
    BookingFactory(student=other_student, session=foreign_session)
    AttendanceFactory(student=other_student, session=foreign_session)
    FeedbackFactory(student=other_student, session=foreign_session)
    for someone in (student, other_student):
        CreditGrantFactory(user=someone, amount=5)
        BookingFactory(student=someone, session=past_session)
        AttendanceFactory(student=someone, session=past_session, marked_by=instructor)
    return World(
        student=student,
        other_student=other_student,
        instructor=instructor,
        master=master,
        staff=StaffFactory(),
        semester=semester,
        spare_semester=SemesterFactory(master_instructor=master),
        specialization=SpecializationFactory(),
        group=GroupFactory(semester=semester),
        session=session,
        # Referenced by nothing, so that deleting it can succeed.
        spare_session=SessionFactory(semester=semester, instructor=instructor),
        past_session=past_session,
        booking=booking,
        credit=CreditGrantFactory(user=student, amount=5),
        attendance=Attendance.objects.get(student=student, session=past_session),
        feedback=FeedbackFactory(student=student, session=past_session),
        project=ProjectFactory(semester=semester),
        foreign_session=foreign_session,
        webhook=(webhook := WebhookEndpointFactory(url="http://93.184.216.34/hooks")),
        webhook_delivery=WebhookDelivery.objects.create(endpoint=webhook, verb="webhook.ping"),
        series=series_create(
            by=master, semester=semester, **_series_rule(instructor, days=20), location="Court 7"
        ),
    )


def _series_rule(instructor: User, *, days: int) -> dict[str, Any]:
    return {
        "title": "Weekly drills",
        "instructor": instructor,
        "weekdays": [1, 2, 3, 4, 5, 6, 7],
        "start_time": time(7, 0),
        "duration_minutes": 60,
        "first_date": timezone.localdate() + timedelta(days=days),
        "count": 2,
    }


def _series_body(w: World, role: str) -> dict[str, Any]:
    rule = _series_rule(w.instructor, days=30)
    return {
        **rule,
        "semester": w.semester.pk,
        "instructor": w.instructor.pk,
        "start_time": "07:00",
        "first_date": rule["first_date"].isoformat(),
    }


def _future(days: int) -> str:
    start = (timezone.now() + timedelta(days=days)).replace(minute=0, second=0, microsecond=0)
    return start.isoformat()


def _session_body(w: World, role: str) -> dict[str, Any]:
    return {
        "title": "Footwork",
        "description": "",
        "semester": w.semester.pk,
        "instructor": w.instructor.pk,
        "session_type": "on_site",
        "date_start": _future(5),
        "date_end": _future(6),
        "capacity": 10,
        "credit_cost": 1,
    }


def _semester_body(w: World, role: str) -> dict[str, Any]:
    today = timezone.localdate()
    return {
        "code": "NEW01",
        "name": "New",
        "start_date": today.isoformat(),
        "end_date": (today + timedelta(days=90)).isoformat(),
        "location": "Hall",
        "is_active": True,
        "master_instructor": w.master.pk,
    }


def _booking_body(w: World, role: str) -> dict[str, Any]:
    # Staff book for a student; everybody else for themselves.
    body: dict[str, Any] = {"session": w.spare_session.pk}
    if role == "staff":
        body["student"] = w.other_student.pk
    return body


Body = Callable[[World, str], dict[str, Any]] | None
# method, path with {placeholders} naming World attributes, body builder, then the
# expected status for each role in ROLES order:
#   anonymous, student, other_student, instructor, master, staff
# fmt: off
MATRIX: list[tuple[str, str, Body, tuple[int, ...]]] = [
    ("POST", "/auth/token/", lambda w, r: {"username": (w.user(r) or w.student).username, "password": DEFAULT_PASSWORD}, (200, 200, 200, 200, 200, 200)),  # noqa: E501
    ("GET", "/me/", None, (401, 200, 200, 200, 200, 200)),
    ("PATCH", "/me/", lambda w, r: {"notify_reminders": False}, (401, 200, 200, 200, 200, 200)),
    ("POST", "/me/calendar/rotate/", None, (401, 200, 200, 200, 200, 200)),
    # Catalogue: everybody signed in reads, staff write.
    ("GET", "/specializations/", None, (401, 200, 200, 200, 200, 200)),
    ("POST", "/specializations/", lambda w, r: {"code": "NEW", "name": "New"}, (401, 403, 403, 403, 403, 201)),  # noqa: E501
    ("GET", "/specializations/{specialization}/", None, (401, 200, 200, 200, 200, 200)),
    ("PUT", "/specializations/{specialization}/", lambda w, r: {"code": "NEW", "name": "New"}, (401, 403, 403, 403, 403, 200)),  # noqa: E501
    ("PATCH", "/specializations/{specialization}/", lambda w, r: {"name": "New"}, (401, 403, 403, 403, 403, 200)),  # noqa: E501
    ("DELETE", "/specializations/{specialization}/", None, (401, 403, 403, 403, 403, 204)),
    ("GET", "/semesters/", None, (401, 200, 200, 200, 200, 200)),
    ("POST", "/semesters/", _semester_body, (401, 403, 403, 403, 403, 201)),
    ("GET", "/semesters/{spare_semester}/", None, (401, 200, 200, 200, 200, 200)),
    ("PUT", "/semesters/{spare_semester}/", _semester_body, (401, 403, 403, 403, 403, 200)),
    ("PATCH", "/semesters/{spare_semester}/", lambda w, r: {"name": "Renamed"}, (401, 403, 403, 403, 403, 200)),  # noqa: E501
    ("DELETE", "/semesters/{spare_semester}/", None, (401, 403, 403, 403, 403, 204)),
    ("POST", "/semesters/{semester}/copy-series/", lambda w, r: {"target_semester": w.spare_semester.pk, "weeks": 1}, (401, 403, 403, 403, 403, 201)),  # noqa: E501
    ("GET", "/groups/", None, (401, 200, 200, 200, 200, 200)),
    ("POST", "/groups/", lambda w, r: {"name": "G", "semester": w.semester.pk}, (401, 403, 403, 403, 403, 201)),  # noqa: E501
    ("GET", "/groups/{group}/", None, (401, 200, 200, 200, 200, 200)),
    ("PUT", "/groups/{group}/", lambda w, r: {"name": "G", "semester": w.semester.pk}, (401, 403, 403, 403, 403, 200)),  # noqa: E501
    ("PATCH", "/groups/{group}/", lambda w, r: {"name": "G2"}, (401, 403, 403, 403, 403, 200)),
    ("DELETE", "/groups/{group}/", None, (401, 403, 403, 403, 403, 204)),
    # Sessions: staff and the semester's master instructor write; the roster is the
    # instructors' and staff's.
    ("GET", "/sessions/", None, (401, 200, 200, 200, 200, 200)),
    ("POST", "/sessions/", _session_body, (401, 403, 403, 403, 201, 201)),
    ("GET", "/sessions/{spare_session}/", None, (401, 200, 200, 200, 200, 200)),
    ("PUT", "/sessions/{spare_session}/", _session_body, (401, 403, 403, 403, 200, 200)),
    ("PATCH", "/sessions/{spare_session}/", lambda w, r: {"capacity": 15}, (401, 403, 403, 403, 200, 200)),  # noqa: E501
    ("DELETE", "/sessions/{spare_session}/", None, (401, 403, 403, 403, 204, 204)),
    ("POST", "/sessions/{spare_session}/cancel/", None, (401, 403, 403, 403, 200, 200)),
    ("POST", "/sessions/{spare_session}/duplicate/", lambda w, r: {"weeks": 2}, (401, 403, 403, 403, 201, 201)),  # noqa: E501
    ("GET", "/sessions/{session}/bookings/", None, (401, 403, 403, 200, 200, 200)),
    # Series: staff and instructors read; staff and the semester's master instructor write.
    ("GET", "/series/", None, (401, 403, 403, 200, 200, 200)),
    ("POST", "/series/", _series_body, (401, 403, 403, 403, 201, 201)),
    ("GET", "/series/{series}/", None, (401, 403, 403, 200, 200, 200)),
    ("PATCH", "/series/{series}/", lambda w, r: {"scope": "all", "title": "Renamed"}, (401, 403, 403, 403, 200, 200)),  # noqa: E501
    ("POST", "/series/{series}/cancel/", lambda w, r: {"scope": "all"}, (401, 403, 403, 403, 200, 200)),  # noqa: E501
    # A session's history: its instructors and staff; to anyone else it does not exist.
    ("GET", "/sessions/{session}/history/", None, (401, 404, 404, 200, 200, 200)),
    # The attendance register: staff, the master instructor, an instructor (their own
    # sessions' columns); to students it does not exist. Everyone reads their own record.
    ("GET", "/semesters/{semester}/register/", None, (401, 404, 404, 200, 200, 200)),
    ("GET", "/me/attendance/", None, (401, 200, 200, 200, 200, 200)),
    # The whole activity log is staff's.
    ("GET", "/activity/", None, (401, 403, 403, 403, 403, 200)),
    # Webhooks are staff's.
    ("GET", "/webhooks/", None, (401, 403, 403, 403, 403, 200)),
    ("POST", "/webhooks/", lambda w, r: {"url": "http://93.184.216.34/in", "event_types": ["*"]}, (401, 403, 403, 403, 403, 201)),  # noqa: E501
    ("GET", "/webhooks/{webhook}/", None, (401, 403, 403, 403, 403, 200)),
    ("PUT", "/webhooks/{webhook}/", lambda w, r: {"url": "http://93.184.216.34/in", "event_types": ["*"]}, (401, 403, 403, 403, 403, 200)),  # noqa: E501
    ("PATCH", "/webhooks/{webhook}/", lambda w, r: {"description": "CRM"}, (401, 403, 403, 403, 403, 200)),  # noqa: E501
    ("DELETE", "/webhooks/{webhook}/", None, (401, 403, 403, 403, 403, 204)),
    ("GET", "/webhooks/{webhook}/deliveries/", None, (401, 403, 403, 403, 403, 200)),
    ("POST", "/webhooks/{webhook}/ping/", None, (401, 403, 403, 403, 403, 202)),
    ("POST", "/webhooks/{webhook}/rotate-secret/", None, (401, 403, 403, 403, 403, 200)),
    ("GET", "/webhook-deliveries/{webhook_delivery}/", None, (401, 403, 403, 403, 403, 200)),
    ("POST", "/webhook-deliveries/{webhook_delivery}/redeliver/", None, (401, 403, 403, 403, 403, 202)),  # noqa: E501
    # Bookings: students their own (another's is a 404), instructors their sessions'.
    ("GET", "/bookings/", None, (401, 200, 200, 200, 200, 200)),
    ("POST", "/bookings/", _booking_body, (401, 201, 201, 403, 403, 201)),
    ("GET", "/bookings/{booking}/", None, (401, 200, 404, 200, 200, 200)),
    ("POST", "/bookings/{booking}/cancel/", None, (401, 200, 404, 403, 403, 200)),
    # The ledger: students their own, staff all; instructors have none.
    ("GET", "/credits/", None, (401, 200, 200, 200, 200, 200)),
    ("GET", "/credits/{credit}/", None, (401, 200, 404, 404, 404, 200)),
    ("POST", "/credits/grant/", lambda w, r: {"student": w.student.pk, "amount": 3}, (401, 403, 403, 403, 403, 201)),  # noqa: E501
    ("POST", "/credits/adjust/", lambda w, r: {"student": w.student.pk, "amount": -3, "note": "Fix"}, (401, 403, 403, 403, 403, 201)),  # noqa: E501
    # Attendance: the instructors' record, closed to students altogether.
    ("GET", "/attendance/", None, (401, 403, 403, 200, 200, 200)),
    ("POST", "/attendance/", lambda w, r: {"session": w.past_session.pk, "student": w.student.pk, "status": "late"}, (401, 403, 403, 201, 201, 201)),  # noqa: E501
    ("GET", "/attendance/{attendance}/", None, (401, 403, 403, 200, 200, 200)),
    ("PATCH", "/attendance/{attendance}/", lambda w, r: {"status": "late"}, (401, 403, 403, 200, 200, 200)),  # noqa: E501
    # Feedback: students give and read their own; the session's instructors read it.
    ("GET", "/feedback/", None, (401, 200, 200, 200, 200, 200)),
    ("POST", "/feedback/", lambda w, r: {"session": w.past_session.pk, "rating": 4}, (401, 409, 201, 403, 403, 403)),  # noqa: E501
    ("GET", "/feedback/{feedback}/", None, (401, 200, 404, 200, 200, 200)),
    # Projects: everybody reads; staff and the semester's master instructor write.
    ("GET", "/projects/", None, (401, 200, 200, 200, 200, 200)),
    ("POST", "/projects/", lambda w, r: {"semester": w.semester.pk, "title": "P", "sessions": [w.session.pk]}, (401, 403, 403, 403, 201, 201)),  # noqa: E501
    ("GET", "/projects/{project}/", None, (401, 200, 200, 200, 200, 200)),
    ("PUT", "/projects/{project}/", lambda w, r: {"title": "P2", "sessions": [w.session.pk]}, (401, 403, 403, 403, 200, 200)),  # noqa: E501
    ("PATCH", "/projects/{project}/", lambda w, r: {"title": "P3"}, (401, 403, 403, 403, 200, 200)),
    ("DELETE", "/projects/{project}/", None, (401, 403, 403, 403, 204, 204)),
]
# fmt: on

PLACEHOLDER = re.compile(r"\{[^}]+\}")


def _template(path: str) -> str:
    """`/bookings/{booking}/` -> `/api/v1/bookings/{id}/`, as the schema spells it."""
    return API + PLACEHOLDER.sub("{id}", path)


def _resolver_paths() -> set[str]:
    """Every route under /api/v1/ the URL resolver knows, with `{id}` for a parameter."""
    found: set[str] = set()

    def walk(patterns: list, prefix: str) -> None:
        for pattern in patterns:
            text = prefix + str(pattern.pattern).lstrip("^").rstrip("$")
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, text)
            elif isinstance(pattern, URLPattern):
                found.add("/" + re.sub(r"\(\?P<[^>]+>[^)]+\)|<[^>]+>", "{id}", text))

    walk(get_resolver().url_patterns, "")
    return {path for path in found if path.startswith(API + "/")}


def test_every_operation_has_a_row():
    documented = {
        (method.upper(), path)
        for path, operations in openapi_document()["paths"].items()
        for method in operations
        if method in {"get", "post", "put", "patch", "delete"}
    }
    in_matrix = [(method, _template(path)) for method, path, _, _ in MATRIX]
    assert len(in_matrix) == len(set(in_matrix)), "a row appears twice"
    assert set(in_matrix) == documented
    # A route the schema left out would escape the table: the resolver must agree.
    assert _resolver_paths() == {path for _, path in documented}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(
    ("method", "path", "body", "expected"),
    MATRIX,
    ids=[f"{method} {path}" for method, path, _, _ in MATRIX],
)
def test_access(method, path, body, expected, role, api_client, token_client):
    world = build_world()
    user = world.user(role)
    client = api_client if user is None else token_client(user)
    url = API + PLACEHOLDER.sub(lambda m: str(getattr(world, m.group()[1:-1]).pk), path)
    data = body(world, role) if body else None

    response = getattr(client, method.lower())(url, data, format="json")

    assert response.status_code == expected[ROLES.index(role)], response.content[:300]
    if data and "password" in data:
        # The token endpoint answers with the token of whoever logged in.
        user = User.objects.get(username=data["username"])
    _assert_no_secrets_of_others(response.content.decode(), caller=user)


def _assert_no_secrets_of_others(body: str, caller: User | None) -> None:
    """No answer shows another user's e-mail, password hash or API token."""
    for someone in User.objects.exclude(pk=caller.pk if caller else None):
        token, _ = Token.objects.get_or_create(user=someone)
        for secret in (someone.email, someone.password, token.key):
            assert secret not in body, f"{someone.username}'s secret in {body[:300]}"


# Each list and the field naming the row's owner; instructors see the rows of the
# sessions they teach or manage, staff everything, students only their own.
LISTS = {
    "/bookings/": (Booking, "student"),
    "/credits/": (CreditTransaction, "user"),
    "/feedback/": (Feedback, "student"),
    "/attendance/": (Attendance, "student"),
}


def _expected_rows(model: type, owner: str, world: World, role: str) -> set[int]:
    rows = model.objects.all()
    if role == "staff":
        return set(rows.values_list("pk", flat=True))
    if role in {"instructor", "master"}:
        if model is CreditTransaction:
            return set()
        return set(rows.exclude(session=world.foreign_session).values_list("pk", flat=True))
    return set(rows.filter(**{owner: world.user(role)}).values_list("pk", flat=True))


@pytest.mark.parametrize(
    ("path", "role"),
    [
        (path, role)
        for path in sorted(LISTS)
        for role in ROLES[1:]
        # Students are refused attendance altogether (403 in MATRIX).
        if not (path == "/attendance/" and role.endswith("student"))
    ],
)
def test_lists_carry_only_the_callers_rows(path, role, token_client):
    world = build_world()
    model, owner = LISTS[path]
    expected = _expected_rows(model, owner, world, role)

    response = token_client(world.user(role)).get(f"{API}{path}?page_size=500")

    assert response.status_code == 200
    assert {row["id"] for row in response.json()["results"]} == expected
    # Nobody's list is empty in this world except an instructor's ledger.
    assert expected or (model is CreditTransaction and role in {"instructor", "master"})


def test_the_secret_scan_catches_a_leak():
    student, other = StudentFactory(), StudentFactory()
    token, _ = Token.objects.get_or_create(user=other)
    for leak in (other.email, other.password, token.key):
        with pytest.raises(AssertionError):
            _assert_no_secrets_of_others(f'{{"x": "{leak}"}}', caller=student)
    _assert_no_secrets_of_others(f'{{"x": "{student.email}"}}', caller=student)
