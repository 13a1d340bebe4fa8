"""The semester, group and session services as any caller meets them (a command, a
script, the admin, the API): who may write, what they refuse, and deletion when a row
arrives between the count and the delete.

The API's permission class and the admin's staff-only access refuse non-staff before
the services run; the services refuse them too, naming the action."""

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from accounts.models import User
from accounts.tests.factories import InstructorFactory, StaffFactory, StudentFactory
from activity.models import Activity
from bookings import services as bookings_services
from config.errors import Conflict, PermissionDenied
from scheduling import services
from scheduling.models import Group, Semester, Session
from scheduling.services import (
    group_create,
    group_delete,
    group_update,
    semester_create,
    semester_delete,
    semester_update,
)
from scheduling.tests.factories import (
    GroupFactory,
    QualificationFactory,
    SemesterFactory,
    SessionFactory,
    SpecializationFactory,
)

pytestmark = pytest.mark.django_db

ACTIONS = [
    "create semesters",
    "edit semesters",
    "delete semesters",
    "create groups",
    "edit groups",
    "delete groups",
]


def attempt(action: str, by: User, semester: Semester, group: Group) -> None:
    calls: dict[str, Callable[[], object]] = {
        "create semesters": lambda: semester_create(by=by, code="S1", name="Spring"),
        "edit semesters": lambda: semester_update(semester=semester, by=by, name="New"),
        "delete semesters": lambda: semester_delete(semester=semester, by=by),
        "create groups": lambda: group_create(by=by, name="Juniors", semester=semester),
        "edit groups": lambda: group_update(group=group, by=by, name="Seniors"),
        "delete groups": lambda: group_delete(group=group, by=by),
    }
    calls[action]()


def catalogue() -> tuple[list, list]:
    return (
        list(Semester.objects.order_by("pk").values_list("pk", "name")),
        list(Group.objects.order_by("pk").values_list("pk", "name")),
    )


@pytest.mark.parametrize("action", ACTIONS)
def test_a_non_staff_caller_is_refused_with_the_action_named(action):
    group, instructor = GroupFactory(), InstructorFactory()
    before = catalogue()

    with pytest.raises(PermissionDenied) as refused:
        attempt(action, instructor, group.semester, group)

    assert refused.value.message == f"Only staff may {action}."
    assert catalogue() == before


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda staff, group: semester_create(by=staff, code="S1", name="n", colour="red"),
            "Unknown semester fields: ['colour']",
        ),
        (
            lambda staff, group: semester_update(semester=group.semester, by=staff, colour="red"),
            "Unknown semester fields: ['colour']",
        ),
        (
            lambda staff, group: group_update(group=group, by=staff, colour="red"),
            "Unknown group fields: ['colour']",
        ),
        (
            # A new session is scheduled: its status is cancel_session's to change.
            lambda staff, group: services.session_create(
                by=staff, semester=group.semester, title="New", status="cancelled"
            ),
            "Unknown session fields: ['status']",
        ),
    ],
)
def test_an_unknown_field_is_a_programming_error_naming_it(call, message):
    with pytest.raises(TypeError) as refused:
        call(StaffFactory(), GroupFactory())
    assert str(refused.value) == message


def test_every_member_who_is_not_a_student_is_named():
    group, staff = GroupFactory(), StaffFactory()
    strangers = sorted([InstructorFactory(), StaffFactory()], key=lambda user: user.pk)

    with pytest.raises(ValidationError) as refused:
        group_update(group=group, by=staff, members=[StudentFactory(), *strangers])

    ids = ", ".join(str(user.pk) for user in strangers)
    assert refused.value.message_dict == {
        "members": [f"Only students can be group members; not: {ids}."]
    }
    assert list(group.members.all()) == []


def test_editing_a_group_deleted_meanwhile_is_a_conflict_that_says_so():
    group, staff = GroupFactory(), StaffFactory()
    Group.objects.filter(pk=group.pk).delete()

    with pytest.raises(Conflict) as refused:
        group_update(group=group, by=staff, name="Renamed")

    assert refused.value.message == "The group no longer exists."


@pytest.mark.parametrize("kind", ["semester", "group"])
def test_a_session_that_arrives_after_the_count_still_blocks_the_delete(monkeypatch, kind):
    """The count found nothing; a session committed before the DELETE: PROTECT refuses,
    and the refusal counts again, so it names what blocks now."""
    group, staff = GroupFactory(), StaffFactory()
    SessionFactory(semester=group.semester, group=group)
    counter = f"{kind}_blocking_relations"
    real = getattr(services, counter)
    answers = iter([None])

    def first_count_misses_the_session(target):
        counts = real(target)
        return {name: 0 for name in counts} if next(answers, "again") is None else counts

    monkeypatch.setattr(services, counter, first_count_misses_the_session)
    delete = services.semester_delete if kind == "semester" else services.group_delete

    with pytest.raises(Conflict) as refused:
        delete(**{kind: group if kind == "group" else group.semester}, by=staff)

    assert refused.value.code == "protected"
    assert refused.value.extra["blocking"]["sessions"] == 1
    blocked_by = "1 groups, 1 sessions" if kind == "semester" else "1 sessions"
    assert (
        refused.value.message == f"The {kind} cannot be deleted: it is referenced by {blocked_by}."
    )
    assert Group.objects.filter(pk=group.pk).exists()
    assert not Activity.objects.filter(verb=f"{kind}.deleted").exists()


def test_fields_no_surface_may_edit_are_refused_by_name():
    """The API's serializer and the admin pass only editable fields; a script that
    passes others is told which."""
    session = SessionFactory()

    with pytest.raises(Conflict) as refused:
        bookings_services.session_update(
            session=session, by=StaffFactory(), status="cancelled", semester=SemesterFactory()
        )

    assert (refused.value.code, refused.value.message) == (
        "not_editable",
        "These fields cannot be changed: semester, status.",
    )
    assert Session.objects.get(pk=session.pk).status == "scheduled"


def test_creating_a_session_looks_up_none_of_its_foreign_keys_again(
    django_assert_num_queries, settings
):
    """The semester, instructor, group and specialization arrive as objects: validating
    the session reads none of them back (one query each, if it did)."""
    group = GroupFactory()
    semester, instructor = group.semester, group.semester.master_instructor
    specialization = SpecializationFactory()
    QualificationFactory(instructor=instructor, specialization=specialization)
    start = SessionFactory.build(semester=semester, instructor=instructor).date_start
    # On PostgreSQL, the lock timeout and the room's advisory lock.
    postgresql_only = 2 if connection.vendor == "postgresql" else 0

    # the qualification; SAVEPOINT; the instructor's row lock; the conflicts' read;
    # the INSERT; the activity's INSERT; RELEASE.
    with django_assert_num_queries(7 + postgresql_only):
        services.session_create(
            by=instructor,
            semester=semester,
            title="Serve drills",
            instructor=instructor,
            group=group,
            target_specialization=specialization,
            date_start=start,
            date_end=start + timedelta(hours=1),
            capacity=8,
            credit_cost=1,
        )


def test_a_script_giving_a_virtual_session_a_bad_link_is_told_why():
    """The API's and the pages' fields check a link first; the model field's validator
    checks it for any other caller, with the same words."""
    group = GroupFactory()
    start = SessionFactory.build(semester=group.semester).date_start

    with pytest.raises(ValidationError) as refused:
        services.session_create(
            by=StaffFactory(),
            semester=group.semester,
            title="Online drills",
            instructor=group.semester.master_instructor,
            session_type="virtual",
            meeting_link="ftp://meet.example.com/x",
            date_start=start,
            date_end=start + timedelta(hours=1),
        )

    assert refused.value.message_dict == {"meeting_link": ["Enter a valid URL."]}
