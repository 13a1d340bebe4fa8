"""Groups are written through scheduling.services, from the API and the admin alike:
students only, the semester fixed, deletion refused while sessions refer to the group,
and each change recorded as an activity."""

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from accounts.tests.factories import InstructorFactory, StaffFactory, StudentFactory
from activity.models import Activity
from scheduling.models import Group
from scheduling.tests.factories import GroupFactory, SemesterFactory, SessionFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/groups/"


@pytest.fixture
def staff():
    return StaffFactory()


@pytest.fixture
def api(token_client, staff):
    return token_client(staff)


@pytest.fixture
def admin_client(staff) -> Client:
    client = Client()
    client.force_login(staff)
    return client


def activities(verb: str) -> list[Activity]:
    return list(Activity.objects.filter(verb=verb).order_by("id"))


def test_creating_a_group_records_its_members(api, staff, django_assert_num_queries):
    semester = SemesterFactory()
    students = StudentFactory.create_batch(2)
    body = {"name": "Juniors", "semester": semester.pk, "members": [s.pk for s in students]}

    transaction_overhead = 3 if connection.vendor == "postgresql" else 2

    # token+user; the serializer: the semester, each member id (2), the unique
    # (semester, name) check; the service: the same check (it serves every surface),
    # savepoint + release (and, on PostgreSQL, SET LOCAL lock_timeout), INSERT group,
    # INSERT both memberships, INSERT activity (asking whether a webhook endpoint is
    # active); the response: the members.
    with django_assert_num_queries(10 + transaction_overhead):
        response = api.post(URL, body)

    assert response.status_code == 201
    group = Group.objects.get(pk=response.json()["id"])
    assert set(group.members.all()) == set(students)
    (created,) = activities("group.created")
    assert (created.actor, created.target_id) == (staff, group.pk)
    assert created.data == {
        "name": "Juniors",
        "semester": semester.pk,
        "members": sorted(s.pk for s in students),
    }


def test_an_update_records_the_rename_and_who_joined_and_left(api, staff):
    stays, leaves, joins = StudentFactory.create_batch(3)
    group = GroupFactory(name="Old", members=[stays, leaves])

    response = api.patch(f"{URL}{group.pk}/", {"name": "New", "members": [stays.pk, joins.pk]})

    assert response.status_code == 200
    assert sorted(response.json()["members"]) == sorted([stays.pk, joins.pk])
    assert set(group.members.all()) == {stays, joins}
    (updated,) = activities("group.updated")
    assert updated.actor == staff
    assert updated.data == {
        "changes": {"name": ["Old", "New"]},
        "members_added": [joins.pk],
        "members_removed": [leaves.pk],
    }


@pytest.mark.parametrize("change", ["joins", "leaves"])
def test_a_change_of_members_alone_is_recorded(api, change):
    stays, moving = StudentFactory.create_batch(2)
    before = [stays] if change == "joins" else [stays, moving]
    after = [stays, moving] if change == "joins" else [stays]
    group = GroupFactory(name="Same", members=before)

    api.patch(f"{URL}{group.pk}/", {"members": [member.pk for member in after]})

    (updated,) = activities("group.updated")
    assert updated.data == {
        "changes": {},
        "members_added": [moving.pk] if change == "joins" else [],
        "members_removed": [] if change == "joins" else [moving.pk],
    }


def test_an_update_that_changes_nothing_records_nothing(api):
    member = StudentFactory()
    group = GroupFactory(name="Same", members=[member])

    response = api.patch(f"{URL}{group.pk}/", {"name": "Same", "members": [member.pk]})

    assert response.status_code == 200
    assert activities("group.updated") == []


def test_the_semester_of_a_group_is_fixed(api):
    group = GroupFactory()
    other = SemesterFactory()

    unchanged = api.patch(f"{URL}{group.pk}/", {"semester": group.semester_id})
    moved = api.patch(f"{URL}{group.pk}/", {"semester": other.pk})

    assert unchanged.status_code == 200
    assert moved.status_code == 400
    assert moved.json()["semester"] == ["A group's semester cannot change."]
    group.refresh_from_db()
    assert group.semester_id != other.pk
    assert activities("group.updated") == []


def test_a_group_with_sessions_cannot_be_deleted(api):
    group = GroupFactory()
    SessionFactory.create_batch(2, semester=group.semester, group=group)

    response = api.delete(f"{URL}{group.pk}/")

    assert response.status_code == 409
    assert response.json()["code"] == "protected"
    assert response.json()["blocking"] == {"sessions": 2, "series": 0}
    assert (
        response.json()["detail"] == "The group cannot be deleted: it is referenced by 2 sessions."
    )
    assert Group.objects.filter(pk=group.pk).exists()
    assert activities("group.deleted") == []


def test_deleting_a_group_records_it(api, staff):
    group = GroupFactory(name="Gone", members=[StudentFactory()])

    assert api.delete(f"{URL}{group.pk}/").status_code == 204

    assert not Group.objects.filter(pk=group.pk).exists()
    (deleted,) = activities("group.deleted")
    assert (deleted.actor, deleted.target_id) == (staff, group.pk)
    assert deleted.data == {"name": "Gone", "semester": group.semester_id}


def test_the_admin_saves_members_through_the_service(admin_client, staff):
    semester = SemesterFactory()
    first, second = StudentFactory.create_batch(2)

    added = admin_client.post(
        reverse("admin:scheduling_group_add"),
        {"name": "Seniors", "semester": semester.pk, "members": [first.pk]},
    )
    assert added.status_code == 302
    group = Group.objects.get(name="Seniors")
    changed = admin_client.post(
        reverse("admin:scheduling_group_change", args=[group.pk]),
        {"name": "Seniors A", "members": [second.pk]},
    )

    assert changed.status_code == 302
    assert list(group.members.all()) == [second]
    (created,) = activities("group.created")
    (updated,) = activities("group.updated")
    assert created.data["members"] == [first.pk]
    assert updated.actor == staff
    assert updated.data == {
        "changes": {"name": ["Seniors", "Seniors A"]},
        "members_added": [second.pk],
        "members_removed": [first.pk],
    }


def test_the_admin_refuses_a_member_who_is_not_a_student(admin_client):
    semester = SemesterFactory()

    response = admin_client.post(
        reverse("admin:scheduling_group_add"),
        {"name": "Mixed", "semester": semester.pk, "members": [InstructorFactory().pk]},
    )

    assert response.status_code == 200
    assert "members" in response.context["adminform"].form.errors
    assert not Group.objects.filter(name="Mixed").exists()
    assert activities("group.created") == []


def test_the_admin_refuses_to_delete_a_group_with_sessions(admin_client):
    group = GroupFactory()
    SessionFactory(semester=group.semester, group=group)

    page = admin_client.get(reverse("admin:scheduling_group_delete", args=[group.pk]))
    forced = admin_client.post(
        reverse("admin:scheduling_group_delete", args=[group.pk]), {"post": "yes"}
    )

    assert "referenced by 1 sessions" in page.content.decode()
    assert forced.status_code in (200, 403)
    assert Group.objects.filter(pk=group.pk).exists()
    assert activities("group.deleted") == []
