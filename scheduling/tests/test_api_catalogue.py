"""Specializations, semesters and groups: read for every user, write for staff."""

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from accounts.tests.factories import StudentFactory
from engagement.tests.factories import ProjectFactory
from scheduling.models import Group, Semester, Specialization
from scheduling.tests.api_world import ROLES, build_world
from scheduling.tests.factories import (
    GroupFactory,
    SemesterFactory,
    SessionFactory,
    SpecializationFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    return build_world()


def _specialization_body(world):
    return {"code": "NEW_SPEC", "name": "New specialization"}


# service_transaction sets a lock timeout on PostgreSQL: one statement more.
LOCK_TIMEOUT = 1 if connection.vendor == "postgresql" else 0


def _semester_body(world):
    today = timezone.localdate()
    return {
        "code": "SEM-NEW",
        "name": "New semester",
        "start_date": today.isoformat(),
        "end_date": (today + timedelta(days=90)).isoformat(),
        "location": "Hall B",
        "is_active": True,
        "master_instructor": world.master.pk,
    }


def _group_body(world):
    return {"name": "Juniors", "semester": world.semester.pk, "members": [world.student.pk]}


RESOURCES = [
    ("specializations", Specialization, _specialization_body, SpecializationFactory),
    ("semesters", Semester, _semester_body, SemesterFactory),
    ("groups", Group, _group_body, GroupFactory),
]
WRITE_EXPECTED = {
    "anonymous": 401,
    "student": 403,
    "other_student": 403,
    "instructor": 403,
    "master": 403,
    "staff": None,
}


@pytest.mark.parametrize(("resource", "model", "make_body", "factory"), RESOURCES)
@pytest.mark.parametrize("role", ROLES)
def test_every_user_reads_the_catalogue(as_role, role, resource, model, make_body, factory):
    item = factory()
    client = as_role(role)
    expected = 401 if role == "anonymous" else 200

    listed = client.get(f"/api/v1/{resource}/")
    retrieved = client.get(f"/api/v1/{resource}/{item.pk}/")

    assert listed.status_code == retrieved.status_code == expected
    if expected == 200:
        assert item.pk in {row["id"] for row in listed.json()["results"]}
        assert retrieved.json()["id"] == item.pk


@pytest.mark.parametrize(("resource", "model", "make_body", "factory"), RESOURCES)
@pytest.mark.parametrize("role", ROLES)
def test_only_staff_write_the_catalogue(world, as_role, role, resource, model, make_body, factory):
    client = as_role(role)
    expected = WRITE_EXPECTED[role]
    spare = factory()

    created = client.post(f"/api/v1/{resource}/", make_body(world))
    renamed = client.patch(f"/api/v1/{resource}/{spare.pk}/", {"name": "Renamed"})
    deleted = client.delete(f"/api/v1/{resource}/{spare.pk}/")

    assert (created.status_code, renamed.status_code, deleted.status_code) == (
        (expected,) * 3 if expected else (201, 200, 204)
    )
    name = make_body(world)["name"]
    assert model.objects.filter(name=name).exists() == (expected is None)
    if expected is None:
        assert created.json()["name"] == make_body(world)["name"]
        assert renamed.json()["name"] == "Renamed"
        assert not model.objects.filter(pk=spare.pk).exists()
    else:
        assert model.objects.filter(pk=spare.pk).exists()


def test_a_semester_with_sessions_cannot_be_deleted(token_client, world):
    SessionFactory(semester=world.semester)
    ProjectFactory(semester=world.semester)
    GroupFactory(semester=world.semester)

    response = token_client(world.staff).delete(f"/api/v1/semesters/{world.semester.pk}/")

    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "protected"
    assert body["blocking"] == {"sessions": 2, "groups": 1, "projects": 1, "series": 0}
    assert body["detail"] == (
        "The semester cannot be deleted: it is referenced by 1 groups, 2 sessions, 1 projects."
    )
    assert Semester.objects.filter(pk=world.semester.pk).exists()


def test_a_semester_that_ends_before_it_starts_is_400_naming_end_date(token_client, world):
    body = _semester_body(world)
    body["end_date"] = (timezone.localdate() - timedelta(days=1)).isoformat()

    response = token_client(world.staff).post("/api/v1/semesters/", body)

    assert response.status_code == 400
    assert response.json()["end_date"] == ["The semester cannot end before it starts."]


def test_a_semester_of_one_day_is_a_semester(token_client, world):
    body = _semester_body(world)
    body["end_date"] = body["start_date"]

    response = token_client(world.staff).post("/api/v1/semesters/", body)

    assert response.status_code == 201
    assert response.json()["end_date"] == response.json()["start_date"]


@pytest.mark.parametrize("sessions", [0, 5])
def test_semester_writes_cost_a_fixed_number_of_queries(
    token_client, world, django_assert_num_queries, sessions
):
    """Whatever the semester holds. The master instructor is validated once, by the
    serializer's lookup: the model's full_clean leaves that key out."""
    client = token_client(world.staff)
    SessionFactory.create_batch(sessions, semester=world.semester)
    url = f"/api/v1/semesters/{world.semester.pk}/"

    # the token with its user; the semester; the master's lookup; the code's uniqueness; the
    # dates' CHECK (SAVEPOINT, the check, RELEASE); then SAVEPOINT (and on PostgreSQL
    # the lock timeout), the UPDATE, the activity's INSERT, RELEASE.
    with django_assert_num_queries(11 + LOCK_TIMEOUT):
        response = client.patch(url, {"name": "Renamed", "master_instructor": world.master.pk})
    assert response.status_code == 200
    # As the edit, with no semester to read and an INSERT for the UPDATE.
    with django_assert_num_queries(10 + LOCK_TIMEOUT):
        created = client.post("/api/v1/semesters/", _semester_body(world))
    assert created.status_code == 201


def test_a_duplicate_semester_code_is_400(token_client, world):
    body = {**_semester_body(world), "code": world.semester.code}
    response = token_client(world.staff).post("/api/v1/semesters/", body)
    assert response.status_code == 400
    assert response.json()["code"] == ["Semester with this Code already exists."]


def test_a_specialization_in_use_cannot_be_deleted(token_client, world):
    spec = SpecializationFactory()
    StudentFactory.create_batch(2, specialization=spec)

    response = token_client(world.staff).delete(f"/api/v1/specializations/{spec.pk}/")

    assert response.status_code == 409
    assert response.json()["code"] == "protected"
    assert response.json()["blocking"] == {"users": 2}


def test_groups_list_their_members_and_filter_by_semester(token_client, world):
    group = GroupFactory(semester=world.semester, members=[world.student, world.other_student])
    GroupFactory()

    body = token_client(world.staff).get(f"/api/v1/groups/?semester={world.semester.pk}").json()

    assert [row["id"] for row in body["results"]] == [group.pk]
    assert sorted(body["results"][0]["members"]) == sorted(
        [world.student.pk, world.other_student.pk]
    )


@pytest.mark.parametrize("size", [1, 20])
def test_the_groups_list_costs_four_queries_at_every_size(
    token_client, world, django_assert_num_queries, size
):
    for group in GroupFactory.create_batch(size, semester=world.semester):
        group.members.set(StudentFactory.create_batch(3))
    client = token_client(world.staff)

    # token+user, count, page, the members of the whole page (one prefetch).
    with django_assert_num_queries(4):
        response = client.get("/api/v1/groups/")

    assert response.json()["count"] == size


@pytest.mark.parametrize("value", ["abc", "1.5", "99999999999999999999999"])
def test_an_invalid_group_filter_is_400(token_client, world, value):
    response = token_client(world.staff).get(f"/api/v1/groups/?semester={value}")
    assert response.status_code == 400
    assert "semester" in response.json()


@pytest.mark.parametrize("resource", ["specializations", "semesters", "groups"])
def test_an_unknown_or_malformed_id_is_404(token_client, world, resource):
    client = token_client(world.staff)
    for pk in ("abc", "99999999999999999999999", "0"):
        assert client.get(f"/api/v1/{resource}/{pk}/").status_code == 404
