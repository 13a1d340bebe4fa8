"""Semesters and groups are staff's to write. The API's permission class and the
admin's staff-only access refuse others before the services run; the services refuse
them too, for any other caller (a command, a script), naming the action."""

from collections.abc import Callable

import pytest

from accounts.models import User
from accounts.tests.factories import InstructorFactory
from config.errors import PermissionDenied
from scheduling.models import Group, Semester
from scheduling.services import (
    group_create,
    group_delete,
    group_update,
    semester_create,
    semester_delete,
    semester_update,
)
from scheduling.tests.factories import GroupFactory

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
