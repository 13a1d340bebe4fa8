"""/api/v1/credits/: the ledger as each role sees it, and staff grants (SPEC §4)."""

import pytest
from rest_framework.test import APIClient

from bookings.models import CreditTransaction
from bookings.services import MAX_GRANT
from bookings.tests.api_world import ROLES, build_world
from bookings.tests.factories import CreditGrantFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/credits/"
GRANT_URL = f"{URL}grant/"


@pytest.fixture
def world():
    return build_world()


def _rows_of(user):
    return set(CreditTransaction.objects.filter(user=user).values_list("pk", flat=True))


# role -> whose ledger rows it sees (None: 401).
LIST_TABLE = {
    "anonymous": None,
    "student": {"student"},
    "other_student": {"other_student"},
    "instructor": set(),
    "master": set(),
    "other_instructor": set(),
    "staff": {"student", "other_student"},
}


@pytest.mark.parametrize(("role", "owners"), LIST_TABLE.items())
def test_list_is_scoped_to_the_caller(as_role, world, role, owners):
    response = as_role(role).get(URL)
    if owners is None:
        assert response.status_code == 401
        return
    assert response.status_code == 200
    expected = set().union(*(_rows_of(getattr(world, owner)) for owner in owners))
    assert {row["id"] for row in response.json()["results"]} == expected


@pytest.mark.parametrize(
    ("role", "status"),
    [("anonymous", 401), ("student", 200), ("other_student", 404), ("instructor", 404),
     ("staff", 200)],
)  # fmt: skip
def test_retrieve_answers_404_for_another_ledger(as_role, world, role, status):
    row = CreditTransaction.objects.filter(user=world.student).first()
    response = as_role(role).get(f"{URL}{row.pk}/")
    assert response.status_code == status
    if status == 200:
        assert response.json() == {
            "id": row.pk,
            "user": world.student.pk,
            "amount": 10,
            "kind": "grant",
            "booking": None,
            "note": row.note,
            "created_by": None,
            "created_at": response.json()["created_at"],
        }


def test_staff_filter_by_user_and_kind(as_role, world):
    client = as_role("staff")
    rows = client.get(URL, {"user": world.other_student.pk}).json()["results"]
    assert {row["id"] for row in rows} == _rows_of(world.other_student)
    assert client.get(URL, {"kind": "refund"}).json()["count"] == 0
    # A student's filter cannot widen their scope.
    rows = as_role("student").get(URL, {"user": world.other_student.pk}).json()["results"]
    assert rows == []


def test_the_ledger_is_read_only(world):
    client = APIClient()
    client.force_authenticate(world.staff)
    row = CreditTransaction.objects.first()
    assert client.post(URL, {"user": world.student.pk, "amount": 5}).status_code == 405
    assert client.patch(f"{URL}{row.pk}/", {"amount": 5}).status_code == 405
    assert client.delete(f"{URL}{row.pk}/").status_code == 405


# role -> status of a valid grant.
GRANT_TABLE = {
    "anonymous": 401,
    "student": 403,
    "other_student": 403,
    "instructor": 403,
    "master": 403,
    "other_instructor": 403,
    "staff": 201,
}


@pytest.mark.parametrize(("role", "status"), GRANT_TABLE.items())
def test_only_staff_grant(as_role, world, role, status):
    response = as_role(role).post(
        GRANT_URL, {"student": world.student.pk, "amount": 5, "note": "Welcome pack"}
    )
    assert response.status_code == status
    world.student.refresh_from_db()
    assert world.student.credit_balance == (15 if status == 201 else 10)
    if status == 201:
        body = response.json()
        assert (body["user"], body["amount"], body["kind"], body["note"], body["created_by"]) == (
            world.student.pk,
            5,
            "grant",
            "Welcome pack",
            world.staff.pk,
        )


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"amount": 5}, "student"),
        ({"student": 10**9, "amount": 5}, "student"),
        ({"student": "instructor", "amount": 5}, "student"),
        ({"student": "student"}, "amount"),
        ({"student": "student", "amount": 0}, "amount"),
        ({"student": "student", "amount": -3}, "amount"),
        ({"student": "student", "amount": MAX_GRANT + 1}, "amount"),
        ({"student": "student", "amount": "many"}, "amount"),
        ({"student": "student", "amount": 5, "note": "x" * 256}, "note"),
    ],
)
def test_invalid_grants_are_400_naming_the_field(as_role, world, payload, field):
    payload = {
        name: getattr(world, value).pk if name == "student" and isinstance(value, str) else value
        for name, value in payload.items()
    }
    before = CreditTransaction.objects.count()
    response = as_role("staff").post(GRANT_URL, payload, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert CreditTransaction.objects.count() == before


@pytest.mark.parametrize("size", [1, 10, 100])
@pytest.mark.parametrize("role", ["student", "staff"])
def test_list_queries_do_not_grow(token_client, django_assert_num_queries, world, role, size):
    for _ in range(size):
        CreditGrantFactory(user=world.student, amount=1)
    client = token_client(getattr(world, role))
    # The token with its user, the count, the page.
    with django_assert_num_queries(3):
        response = client.get(URL, {"page_size": 500})
    assert response.json()["count"] >= size


@pytest.mark.parametrize("table", [LIST_TABLE, GRANT_TABLE])
def test_every_table_covers_every_role(table):
    assert tuple(table) == ROLES
