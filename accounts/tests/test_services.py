"""A person's own account writes: only the fields named, only the names allowed.

The profile and notification pages hold the user read at the start of the request;
a grant or a booking may move the balance meanwhile. Writing the whole row from that
stale copy would put the old balance back, so only the changed columns are written."""

import pytest
from django.db.models import F

from accounts.models import User, time_zone_choices
from accounts.services import update_notification_settings, update_profile
from accounts.tests.factories import StudentFactory

pytestmark = pytest.mark.django_db


def test_a_switch_turned_back_on_is_on():
    student = StudentFactory(notify_reminders=False)

    update_notification_settings(user=student, changes={"notify_reminders": 1})

    assert User.objects.values_list("notify_reminders", flat=True).get(pk=student.pk) is True


@pytest.mark.parametrize(
    ("write", "changes"),
    [
        (update_notification_settings, {"notify_credit_grants": False}),
        (update_profile, {"first_name": "Ada", "time_zone": "Asia/Tokyo"}),
    ],
)
def test_only_the_changed_columns_are_written_from_a_stale_user(write, changes):
    student = StudentFactory()
    User.objects.filter(pk=student.pk).update(credit_balance=F("credit_balance") + 7)

    write(user=student, changes=changes)

    saved = User.objects.get(pk=student.pk)
    assert saved.credit_balance == 7
    assert {name: getattr(saved, name) for name in changes} == changes


@pytest.mark.parametrize(
    ("write", "changes", "message"),
    [
        (
            update_notification_settings,
            {"notify_reminders": True, "credit_balance": 5},
            "Not notification settings: ['credit_balance']",
        ),
        (update_profile, {"email": "a@b.c", "is_staff": True}, "Not profile fields: ['is_staff']"),
    ],
)
def test_a_name_outside_the_list_is_refused_and_nothing_is_written(write, changes, message):
    student = StudentFactory()
    before = User.objects.filter(pk=student.pk).values().get()

    with pytest.raises(ValueError) as refused:
        write(user=student, changes=changes)

    assert str(refused.value) == message
    assert User.objects.filter(pk=student.pk).values().get() == before


def test_the_zone_choices_read_as_places():
    choices = dict(time_zone_choices())
    assert choices["America/New_York"] == "America/New York"
    assert choices["Europe/Budapest"] == "Europe/Budapest"
