"""No input produces a 500: nesting, text PostgreSQL cannot store, and the order of
authorization and validation, on every JSON endpoint of the OpenAPI schema.

Operations are read from the schema itself, so that a new endpoint is covered
without being listed here. Every answer is also checked against the schema by the
conftest clients.
"""

import json
from datetime import time, timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.tests.factories import InstructorFactory, StaffFactory, StudentFactory
from bookings.models import Booking
from bookings.tests.factories import BookingFactory, CreditGrantFactory
from config.parsers import MAX_DEPTH
from config.tests.openapi_contract import openapi_document
from engagement.tests.factories import AttendanceFactory, ProjectFactory
from scheduling.models import Session
from scheduling.series import series_create
from scheduling.tests.factories import (
    GroupFactory,
    PastSessionFactory,
    QualificationFactory,
    SemesterFactory,
    SessionFactory,
    SpecializationFactory,
)
from webhooks.tests.factories import WebhookEndpointFactory

pytestmark = pytest.mark.django_db

ROLES = ("anonymous", "student", "master", "staff")
WRITES = {"post", "put", "patch"}


def _operations(methods: set[str]) -> list[tuple[str, str]]:
    document = openapi_document()
    return sorted(
        (path, method)
        for path, item in document["paths"].items()
        for method in item
        if method in methods
    )


BODY_OPERATIONS = [
    (path, method)
    for path, method in _operations(WRITES)
    if "requestBody" in openapi_document()["paths"][path][method]
]
LIST_PARAMETERS = [
    (path, parameter["name"])
    for path, method in _operations({"get"})
    for parameter in openapi_document()["paths"][path][method].get("parameters", [])
    if parameter["in"] == "query"
]


@pytest.fixture
def world(token_client, api_client):
    master = InstructorFactory()
    semester = SemesterFactory(master_instructor=master)
    specialization = SpecializationFactory()
    QualificationFactory(instructor=master, specialization=specialization)
    student = StudentFactory()
    CreditGrantFactory(user=student, amount=5)
    session = SessionFactory(semester=semester, instructor=master)
    past = PastSessionFactory(semester=semester, instructor=master)
    booking = BookingFactory(student=student, session=past)
    staff = StaffFactory()
    ids = {
        "sessions": session.pk,
        "semesters": semester.pk,
        "groups": GroupFactory(semester=semester).pk,
        "specializations": specialization.pk,
        "bookings": booking.pk,
        "attendance": AttendanceFactory(student=student, session=past).pk,
        "projects": ProjectFactory(semester=semester).pk,
        "series": series_create(
            by=staff,
            semester=semester,
            title="Weekly drills",
            instructor=master,
            weekdays=[1, 2, 3, 4, 5, 6, 7],
            start_time=time(7, 0),
            duration_minutes=60,
            first_date=timezone.localdate() + timedelta(days=20),
            count=2,
        ).pk,
        "webhooks": WebhookEndpointFactory(url="http://93.184.216.34/hooks").pk,
    }
    return {
        "master": master,
        "semester": semester,
        "session": session,
        "specialization": specialization,
        "student": student,
        "ids": ids,
        "clients": {
            "anonymous": api_client,
            "student": token_client(student),
            "master": token_client(master),
            "staff": token_client(staff),
        },
    }


def _url(world, path: str) -> str:
    resource = path.removeprefix("/api/v1/").split("/", 1)[0]
    return path.replace("{id}", str(world["ids"].get(resource, 1)))


def _send(world, role: str, method: str, url: str, raw: str, **headers: str):
    client: APIClient = world["clients"][role]
    return getattr(client, method)(url, raw, content_type="application/json", headers=headers)


# --- nesting --------------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [5000, 900, MAX_DEPTH + 1])
@pytest.mark.parametrize(("path", "method"), BODY_OPERATIONS)
def test_deeply_nested_json_is_400_for_every_caller_allowed_to_send_it(world, path, method, depth):
    """5000 levels overflow Python's parser; 900 parse, but would overflow whatever walks
    the body again (the Idempotency-Key fingerprint)."""
    raw = '{"title": ' + "[" * depth + "]" * depth + "}"
    statuses = {}
    for role in ROLES:
        response = _send(world, role, method, _url(world, path), raw, **{"Idempotency-Key": "k"})
        statuses[role] = response.status_code
        assert response.status_code in {400, 401, 403, 404}, (role, response.content[:300])
    assert 400 in statuses.values(), statuses


def test_deep_nesting_is_named_in_the_answer(world):
    raw = "[" * 5000 + "]" * 5000
    response = _send(world, "anonymous", "post", "/api/v1/auth/token/", raw)
    assert response.status_code == 400
    assert "nested deeper than" in response.json()["detail"]


def test_nesting_up_to_the_limit_is_read(world):
    """A body as deep as allowed reaches validation, which names the field."""
    nested = 1
    for _ in range(MAX_DEPTH - 1):
        nested = [nested]
    response = _send(world, "student", "post", "/api/v1/bookings/", json.dumps({"session": nested}))
    assert response.status_code == 400
    assert "session" in response.json()


# --- text PostgreSQL cannot store -----------------------------------------------------------

NUL = "a\x00b"
SURROGATE = "\\ud800"  # As JSON text: the parser makes it a lone surrogate.


@pytest.mark.parametrize(
    ("role", "method", "path", "field", "body"),
    [
        # target_specialization is a slug looked up in the database.
        ("master", "post", "/api/v1/sessions/", "target_specialization", "create"),
        ("master", "patch", "/api/v1/sessions/{id}/", "target_specialization", {}),
        ("master", "put", "/api/v1/sessions/{id}/", "target_specialization", "create"),
        ("master", "patch", "/api/v1/sessions/{id}/", "title", {}),
        ("master", "patch", "/api/v1/sessions/{id}/", "meeting_link", {"session_type": "virtual"}),
        ("staff", "post", "/api/v1/specializations/", "code", {"name": "n"}),
        ("staff", "post", "/api/v1/credits/grant/", "note", {"amount": 1}),
        ("student", "post", "/api/v1/bookings/", "session", {}),
        ("student", "post", "/api/v1/feedback/", "comment", {"rating": 4}),
        ("master", "patch", "/api/v1/projects/{id}/", "description", {}),
        ("master", "patch", "/api/v1/attendance/{id}/", "status", {}),
        ("anonymous", "post", "/api/v1/auth/token/", "username", {"password": "p"}),
        # A field no serializer reads is refused too: the fingerprint would encode it.
        ("student", "post", "/api/v1/bookings/", "unknown_field", {}),
    ],
)
@pytest.mark.parametrize("text", [json.dumps(NUL), f'"{SURROGATE}"', f'["x", "{SURROGATE}"]'])
def test_unstorable_text_is_400_naming_the_field(world, role, method, path, field, body, text):
    if body == "create":
        body = _session_body(world)
    fields = {**body}
    if field == "session" or field == "unknown_field":
        fields["session"] = world["session"].pk
    fields.pop(field, None)
    raw = json.dumps(fields)[:-1] + (", " if fields else "") + f'"{field}": {text}' + "}"
    before = Session.objects.values_list("pk", "title", "target_specialization").order_by("pk")
    before = list(before)

    response = _send(world, role, method, _url(world, path), raw, **{"Idempotency-Key": "k"})

    assert response.status_code == 400, response.content[:300]
    assert field in response.json()
    after = Session.objects.values_list("pk", "title", "target_specialization").order_by("pk")
    assert list(after) == before


def test_a_field_name_that_cannot_be_stored_is_400(world):
    raw = '{"session": ' + str(world["session"].pk) + ', "x\\u0000y": 1}'
    response = _send(world, "student", "post", "/api/v1/bookings/", raw)
    assert response.status_code == 400
    assert "non_field_errors" in response.json()
    assert not Booking.objects.filter(session=world["session"]).exists()


def test_paired_surrogates_are_one_character_and_kept(world):
    """`\\ud83c\\udff8` is how JSON escapes 🏸: a pair, not a lone surrogate."""
    raw = '{"session": %d, "rating": 5, "comment": "\\ud83c\\udff8"}'
    past = Session.objects.get(pk=Booking.objects.get(pk=world["ids"]["bookings"]).session_id)
    response = _send(world, "student", "post", "/api/v1/feedback/", raw % past.pk)
    assert response.status_code == 201, response.content
    assert response.json()["comment"] == "🏸"


def _session_body(world) -> dict:
    """A new session a day after the world's, so that it meets no conflict."""
    session: Session = world["session"]
    return {
        "semester": world["semester"].pk,
        "title": "T",
        "instructor": world["master"].pk,
        "session_type": "on_site",
        "date_start": (session.date_start + timedelta(days=1)).isoformat(),
        "date_end": (session.date_end + timedelta(days=1)).isoformat(),
    }


@pytest.mark.parametrize(("path", "parameter"), LIST_PARAMETERS)
@pytest.mark.parametrize("value", ["a%00b", "%00", "%ED%A0%80", "%FF"])
def test_query_parameters_with_unstorable_text_are_never_a_500(world, path, parameter, value):
    """NUL in a filter is refused by the filter forms; percent-encoded surrogates and
    invalid UTF-8 arrive as replacement characters, which can be stored."""
    response = world["clients"]["staff"].get(f"{_url(world, path)}?{parameter}={value}")
    assert response.status_code in {200, 400, 404}, response.content[:300]
    if value.startswith("a%00") and response.status_code == 400:
        assert parameter in response.json() or "detail" in response.json()


@pytest.mark.parametrize("query", ["search=a%00b", "target_specialization=%00"])
def test_nul_in_a_session_filter_is_400_naming_it(world, query):
    response = world["clients"]["student"].get(f"/api/v1/sessions/?{query}")
    assert response.status_code == 400
    assert query.split("=")[0] in response.json()


# --- authorization before validation --------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/api/v1/sessions/"),
        ("put", "/api/v1/sessions/{id}/"),
        ("patch", "/api/v1/sessions/{id}/"),
    ],
)
@pytest.mark.parametrize(
    "raw",
    [
        json.dumps({"target_specialization": NUL}),
        '{"target_specialization": "\\ud800"}',
        "[" * 5000 + "]" * 5000,
        "{not json",
        json.dumps({"title": 5, "capacity": "many"}),
        "create",
    ],
)
def test_a_student_writing_a_session_gets_403_whatever_the_body(world, method, path, raw):
    if raw == "create":
        raw = json.dumps(
            {**_session_body(world), "target_specialization": world["specialization"].code}
        )
    before = list(Session.objects.values_list("pk", "title").order_by("pk"))

    response = _send(world, "student", method, _url(world, path), raw)

    assert response.status_code == 403, response.content[:300]
    assert list(Session.objects.values_list("pk", "title").order_by("pk")) == before


def test_an_instructor_of_another_semester_gets_403_before_validation(world, token_client):
    other = token_client(InstructorFactory())
    raw = json.dumps({"capacity": "many"})
    response = other.patch(
        f"/api/v1/sessions/{world['session'].pk}/", raw, content_type="application/json"
    )
    assert response.status_code == 403


def test_the_master_instructor_still_writes(world):
    response = _send(
        world,
        "master",
        "post",
        "/api/v1/sessions/",
        json.dumps({**_session_body(world), "target_specialization": world["specialization"].code}),
    )
    assert response.status_code == 201, response.content[:300]


DETAIL_OPERATIONS = [
    (path, method) for path, method in _operations({"get", "delete"}) if "{id}" in path
]


@pytest.mark.parametrize(("path", "method"), DETAIL_OPERATIONS)
@pytest.mark.parametrize("lookup", ["%00", "1%00", "%ED%A0%80", "%F0%9F%8F%B8"])
def test_ids_in_paths_that_cannot_be_stored_are_404(world, path, method, lookup):
    response = getattr(world["clients"]["staff"], method)(path.replace("{id}", lookup))
    assert response.status_code == 404, response.content[:300]


@pytest.mark.parametrize(
    ("role", "path", "field"),
    [
        ("staff", "/api/v1/groups/{id}/", "members"),
        ("master", "/api/v1/projects/{id}/", "sessions"),
    ],
)
@pytest.mark.parametrize("value", [{}, {"1": 1}])
def test_an_object_where_a_list_of_ids_belongs_is_400(world, role, path, field, value):
    """DRF's many-related field iterates whatever it is given: `{}` read as no ids."""
    response = _send(world, role, "patch", _url(world, path), json.dumps({field: value}))
    assert response.status_code == 400, response.content[:300]
    assert field in response.json()
