"""Hostile input: every family is refused with a 4xx, quickly, and changes nothing.

Each case sends one request as the role that could otherwise succeed and checks
the status, that the answer came in well under a second, and that no row of the
tables it aims at changed. The schema-checking client also holds every answer to
its documented shape (JSON errors, never an HTML page).
"""

import json
from typing import Any

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from accounts.models import User
from accounts.tests.factories import InstructorFactory, StaffFactory, StudentFactory
from bookings.models import Booking, CreditTransaction
from bookings.tests.factories import BookingFactory, CreditGrantFactory
from engagement.models import Feedback, Project
from engagement.tests.factories import AttendanceFactory, ProjectFactory
from scheduling.models import Session, Specialization
from scheduling.tests.factories import PastSessionFactory, SemesterFactory, SessionFactory

pytestmark = pytest.mark.django_db

HUGE = 2**70
BEYOND_64_BITS = 2**64


@pytest.fixture
def world(token_client):
    master = InstructorFactory()
    semester = SemesterFactory(master_instructor=master)
    student = StudentFactory()
    CreditGrantFactory(user=student, amount=5)
    session = SessionFactory(semester=semester)
    past = PastSessionFactory(semester=semester)
    BookingFactory(student=student, session=past)
    AttendanceFactory(student=student, session=past)
    staff = StaffFactory()
    return {
        "student": student,
        "master": master,
        "staff": staff,
        "session": session,
        "past": past,
        "project": ProjectFactory(semester=semester),
        "clients": {
            "student": token_client(student),
            "master": token_client(master),
            "staff": token_client(staff),
        },
    }


def _snapshot() -> list[Any]:
    return [
        sorted(User.objects.values_list("pk", "credit_balance", "is_staff")),
        sorted(Booking.objects.values_list("pk", "status", "credits_charged")),
        CreditTransaction.objects.count(),
        sorted(Session.objects.values_list("pk", "title", "capacity", "credit_cost", "status")),
        sorted(Feedback.objects.values_list("pk", "comment")),
        sorted(Project.objects.values_list("pk", "title")),
        Specialization.objects.count(),
    ]


def _refused(world, role: str, method: str, path: str, body: Any = None, **extra: Any) -> Any:
    """Send it, check it was refused and changed nothing; return the response.

    No wall-clock limit here: timings belong to `make bench`, not to a test that a
    loaded machine would fail."""
    client = world["clients"][role]
    before = _snapshot()
    response = getattr(client, method)(path, body, **extra)
    assert 400 <= response.status_code < 500, response.content[:300]
    assert _snapshot() == before
    return response


def _json(world, role, method, path, body, expected, **extra):
    response = _refused(world, role, method, path, body, format="json", **extra)
    assert response.status_code == expected, response.content[:300]
    return response


# --- bodies over the size limit ------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "path"),
    [("student", "/api/v1/bookings/"), ("staff", "/api/v1/credits/grant/")],
)
def test_a_body_over_the_limit_is_refused_before_it_is_read(world, role, path):
    body = json.dumps({"note": "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)})

    response = _refused(world, role, "post", path, body, content_type="application/json")

    assert response.status_code == 413
    assert response.json()["code"] == "request_too_large"


def test_a_form_body_over_the_limit_is_refused_too(world):
    response = _refused(
        world,
        "student",
        "post",
        "/api/v1/feedback/",
        f"comment={'x' * settings.DATA_UPLOAD_MAX_MEMORY_SIZE}",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 413


# --- long arrays ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "method", "path", "body", "queries"),
    [
        # The token's user and the semester id (the fields before it are resolved).
        (
            "master",
            "post",
            "/api/v1/projects/",
            lambda w, ids: {"semester": w["session"].semester_id, "title": "P", "sessions": ids},
            2,
        ),
        # The token's user, the project with its semester, its session ids.
        ("master", "patch", "/api/v1/projects/{project}/", lambda w, ids: {"sessions": ids}, 3),
        (
            "staff",
            "post",
            "/api/v1/groups/",
            lambda w, ids: {"name": "G", "semester": w["session"].semester_id, "members": ids},
            2,
        ),
    ],
)
def test_ten_thousand_ids_are_refused_without_a_query_each(
    world, role, method, path, body, queries, django_assert_num_queries
):
    ids = [world["session"].pk] * 10_000
    url = path.format(project=world["project"].pk)
    client, before = world["clients"][role], _snapshot()

    # Never a query per id.
    with django_assert_num_queries(queries):
        response = getattr(client, method)(url, body(world, ids), format="json")

    assert response.status_code == 400
    assert _snapshot() == before

    field = "members" if "groups" in path else "sessions"
    assert "at most" in response.json()[field][0]


# --- integers beyond 64 bits, negative values ----------------------------------------------

NUMBERS = [HUGE, BEYOND_64_BITS, -1, -(2**70)]


@pytest.mark.parametrize("value", NUMBERS)
@pytest.mark.parametrize(
    ("role", "method", "path", "body"),
    [
        ("student", "post", "/api/v1/bookings/", lambda w, v: {"session": v}),
        (
            "student",
            "post",
            "/api/v1/feedback/",
            lambda w, v: {"session": w["past"].pk, "rating": v},
        ),
        ("master", "patch", "/api/v1/sessions/{session}/", lambda w, v: {"capacity": v}),
        ("master", "patch", "/api/v1/sessions/{session}/", lambda w, v: {"credit_cost": v}),
        ("master", "patch", "/api/v1/sessions/{session}/", lambda w, v: {"instructor": v}),
        (
            "staff",
            "post",
            "/api/v1/credits/grant/",
            lambda w, v: {"student": w["student"].pk, "amount": v},
        ),
        ("staff", "post", "/api/v1/credits/grant/", lambda w, v: {"student": v, "amount": 1}),
    ],
)
def test_out_of_range_integers_in_bodies_are_400(world, value, role, method, path, body):
    url = path.format(session=world["session"].pk)
    _json(world, role, method, url, body(world, value), 400)


@pytest.mark.parametrize(
    ("role", "path", "body"),
    [
        ("master", "/api/v1/sessions/{session}/", {"capacity": 0}),
        ("staff", "/api/v1/credits/grant/", {"amount": 0}),
        ("student", "/api/v1/feedback/", {"rating": 0}),
    ],
)
def test_zero_where_at_least_one_is_needed_is_400(world, role, path, body):
    defaults = {"student": world["student"].pk, "session": world["past"].pk}
    method = "patch" if "{session}" in path else "post"
    data = body if method == "patch" else {**defaults, **body}
    _json(world, role, method, path.format(session=world["session"].pk), data, 400)


@pytest.mark.parametrize(
    "path",
    [
        f"/api/v1/sessions/{HUGE}/",
        "/api/v1/sessions/-1/",
        f"/api/v1/bookings/{BEYOND_64_BITS}/",
        f"/api/v1/bookings/{HUGE}/cancel/",
        "/api/v1/sessions/abc/",
        "/api/v1/sessions/1.5/",
        "/api/v1/sessions/%00/",
        "/api/v1/credits/1e3/",
        f"/api/v1/sessions/?page={HUGE}",
        "/api/v1/sessions/?page=-1",
        "/api/v1/sessions/?page=abc",
    ],
)
def test_ids_and_pages_that_name_nothing_are_404(world, path):
    method = "post" if path.endswith("cancel/") else "get"
    response = _refused(world, "student", method, path)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"


@pytest.mark.parametrize(
    "query",
    [
        f"semester={HUGE}",
        "semester=-1",
        "semester=abc",
        "semester=1.5",
        "instructor=0x10",
        f"group={BEYOND_64_BITS}",
        "page_size=-5",
        "page_size=0",
        "page_size=abc",
        f"page_size={HUGE}x",
        "has_spots=maybe",
        "status=deleted",
        # Only the offered orderings: nothing sorts (or probes) by a hidden field.
        "ordering=password",
        "ordering=instructor__password",
    ],
)
def test_invalid_session_filters_are_400(world, query):
    response = _refused(world, "student", "get", f"/api/v1/sessions/?{query}")
    assert response.status_code == 400


@pytest.mark.parametrize(
    ("path", "query"),
    [
        ("/api/v1/bookings/", f"session={HUGE}"),
        ("/api/v1/bookings/", "session=1.5"),
        ("/api/v1/bookings/", "session=abc"),
        ("/api/v1/credits/", "user=-1"),
        ("/api/v1/feedback/", f"student={BEYOND_64_BITS}"),
        ("/api/v1/projects/", "semester=x"),
    ],
)
def test_invalid_id_filters_are_400(world, path, query):
    response = _refused(world, "student", "get", f"{path}?{query}")
    assert response.status_code == 400


def test_a_huge_page_size_is_capped_at_500(world):
    Specialization.objects.bulk_create(
        Specialization(code=f"BULK_{n}", name=f"Bulk {n}") for n in range(501)
    )
    client = world["clients"]["student"]

    response = client.get(f"/api/v1/specializations/?page_size={HUGE}")

    assert response.status_code == 200
    assert len(response.json()["results"]) == 500
    assert response.json()["next"]


# --- NaN, Infinity, broken JSON, wrong content types ---------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        '{"session": NaN}',
        '{"session": Infinity}',
        '{"session": -Infinity}',
        '{"session": 1e400}',
        '{"session": ',
        '{"session": 1,}',
        "[1, 2",
        "\x00",
        '{"session": "\\ud800"}',
        "",
    ],
)
def test_non_numbers_and_broken_json_are_400(world, raw):
    response = _refused(
        world, "student", "post", "/api/v1/bookings/", raw, content_type="application/json"
    )
    assert response.status_code == 400


@pytest.mark.parametrize(
    ("role", "path", "raw"),
    [
        ("student", "/api/v1/feedback/", '{"session": %(past)d, "rating": NaN}'),
        ("student", "/api/v1/feedback/", '{"session": %(past)d, "rating": Infinity}'),
        ("student", "/api/v1/feedback/", '{"session": %(past)d, "rating": 4.5}'),
        ("staff", "/api/v1/credits/grant/", '{"student": %(student)d, "amount": 1e400}'),
        ("staff", "/api/v1/credits/grant/", '{"student": %(student)d, "amount": "NaN"}'),
    ],
)
def test_nan_and_infinity_in_number_fields_are_400(world, role, path, raw):
    body = raw % {"past": world["past"].pk, "student": world["student"].pk}
    response = _refused(world, role, "post", path, body, content_type="application/json")
    assert response.status_code == 400


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/xml",
        "application/octet-stream",
        "image/png",
        "text/csv",
        # The API speaks JSON only.
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
    ],
)
def test_an_unsupported_content_type_is_415(world, content_type):
    body = json.dumps({"session": world["session"].pk})
    response = _refused(
        world, "student", "post", "/api/v1/bookings/", body, content_type=content_type
    )
    assert response.status_code == 415


# --- text: NUL bytes refused, 4-byte characters kept ---------------------------------------


@pytest.mark.parametrize(
    ("role", "method", "path", "body"),
    [
        (
            "student",
            "post",
            "/api/v1/feedback/",
            lambda w: {"session": w["past"].pk, "rating": 4, "comment": "fine\x00"},
        ),
        ("master", "patch", "/api/v1/sessions/{session}/", lambda w: {"title": "a\x00b"}),
        ("master", "patch", "/api/v1/projects/{project}/", lambda w: {"title": "\x00"}),
        ("staff", "post", "/api/v1/specializations/", lambda w: {"code": "NUL\x00", "name": "n"}),
        ("student", "post", "/api/v1/bookings/", lambda w: {"session": f"{w['session'].pk}\x00"}),
    ],
)
def test_nul_bytes_in_text_are_400(world, role, method, path, body):
    url = path.format(session=world["session"].pk, project=world["project"].pk)
    _json(world, role, method, url, body(world), 400)


@pytest.mark.parametrize("query", ["search=a%00b", "target_specialization=%00"])
def test_nul_bytes_in_filters_are_400(world, query):
    response = _refused(world, "student", "get", f"/api/v1/sessions/?{query}")
    assert response.status_code == 400


EMOJI = "Great drills 🏸🎾💪 — très bien 𝄞"


def test_four_byte_characters_are_stored_intact(world):
    client = world["clients"]["student"]

    response = client.post(
        "/api/v1/feedback/",
        {"session": world["past"].pk, "rating": 5, "comment": EMOJI},
        format="json",
    )

    assert response.status_code == 201
    assert Feedback.objects.get(pk=response.json()["id"]).comment == EMOJI
    assert client.get(f"/api/v1/feedback/{response.json()['id']}/").json()["comment"] == EMOJI
    found = client.get("/api/v1/sessions/", {"search": "🏸"})
    assert found.status_code == 200


# --- dates and time zones ------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "2026-13-01T10:00:00Z",
        "2026-02-30T10:00:00Z",
        "2026-12-01T25:00:00Z",
        "2026-12-01T10:00:00+25:00",
        "2026-12-01T10:00:00 Mars/Olympus",
        "0001-01-01T00:00:00+05:00",
        "10000-01-01T00:00:00Z",
        "0000-01-01T00:00:00Z",
        "yesterday",
        "",
    ],
)
def test_invalid_datetimes_in_bodies_are_400(world, value):
    url = f"/api/v1/sessions/{world['session'].pk}/"
    _json(world, "master", "patch", url, {"date_start": value}, 400)


@pytest.mark.parametrize(
    "value",
    [
        "2026-13-01",
        "2026-02-30T10:00:00Z",
        "2026-12-01T10:00:00+25:00",
        "tomorrow",
        "9" * 30,
        # Shifted to UTC, outside what a datetime holds.
        "0001-01-01T00:00:00+05:00",
        "9999-12-31T23:59:00-05:00",
    ],
)
@pytest.mark.parametrize("name", ["date_from", "date_to"])
def test_invalid_datetimes_in_filters_are_400(world, name, value):
    response = _refused(world, "student", "get", "/api/v1/sessions/", {name: value})
    assert response.status_code == 400


@pytest.mark.parametrize("value", ["2026-12-01T10:00:00-21:01", "2026-12-01T10:00:00+23:59"])
def test_offsets_postgresql_cannot_store_are_read_as_utc(world, value):
    """Python takes offsets up to ±23:59, PostgreSQL only ±15:59: found by the fuzzer as
    a 500 on PostgreSQL."""
    response = world["clients"]["student"].get("/api/v1/sessions/", {"date_from": value})
    assert response.status_code == 200


# --- unknown fields ------------------------------------------------------------------------


def test_unknown_fields_are_ignored(world):
    """Consistently ignored, as DRF does everywhere: never stored, never an error."""
    response = world["clients"]["student"].post(
        "/api/v1/bookings/",
        {"session": world["session"].pk, "colour": "red", "__proto__": {"admin": True}},
        format="json",
    )
    assert response.status_code == 201
    assert "colour" not in response.json()


def test_a_json_body_that_is_not_an_object_is_400(world):
    for body in (["session", 1], "session", 42, None):
        response = _refused(
            world,
            "student",
            "post",
            "/api/v1/bookings/",
            json.dumps(body),
            content_type="application/json",
        )
        assert response.status_code == 400


def test_a_raw_client_gets_json_errors_for_unknown_api_paths():
    response = APIClient().get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


# --- wrong JSON types ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "method", "path", "body"),
    [
        # An id as a string, or a float that int() would truncate to another object's id.
        ("student", "post", "/api/v1/bookings/", lambda w: {"session": str(w["session"].pk)}),
        ("student", "post", "/api/v1/bookings/", lambda w: {"session": w["session"].pk + 0.5}),
        ("student", "post", "/api/v1/bookings/", lambda w: {"session": True}),
        (
            "student",
            "post",
            "/api/v1/feedback/",
            lambda w: {"session": w["past"].pk, "rating": "4"},
        ),
        (
            "student",
            "post",
            "/api/v1/feedback/",
            lambda w: {"session": w["past"].pk, "rating": 4.0},
        ),
        (
            "student",
            "post",
            "/api/v1/feedback/",
            lambda w: {"session": w["past"].pk, "rating": 4, "comment": 5},
        ),
        ("master", "patch", "/api/v1/sessions/{session}/", lambda w: {"mixed_specialization": 1}),
        ("master", "patch", "/api/v1/sessions/{session}/", lambda w: {"capacity": "12"}),
        ("master", "patch", "/api/v1/sessions/{session}/", lambda w: {"title": ["a"]}),
        ("staff", "post", "/api/v1/specializations/", lambda w: {"code": "X", "name": 0}),
        (
            "staff",
            "post",
            "/api/v1/credits/grant/",
            lambda w: {"student": w["student"].pk, "amount": "3"},
        ),
    ],
)
def test_values_of_the_wrong_json_type_are_400(world, role, method, path, body):
    url = path.format(session=world["session"].pk)
    _json(world, role, method, url, body(world), 400)
