"""record(), record_many() and the subscribers, on their own (no domain app involved)."""

import logging
from pathlib import Path

import pytest
from django.conf import settings
from django.db import IntegrityError, transaction

from accounts.models import User
from accounts.tests.factories import StaffFactory, StudentFactory
from activity import verbs
from activity.models import Activity, AppendOnly
from activity.services import NotInTransaction, build, record, record_many
from activity.subscribers import SUBSCRIBER_ERRORS, matches

pytestmark = pytest.mark.django_db


def errors_counted(verb: str) -> float:
    return SUBSCRIBER_ERRORS.labels(verb=verb)._value.get()


@pytest.mark.parametrize(
    ("pattern", "verb", "expected"),
    [
        ("booking.*", "booking.confirmed", True),
        ("booking.*", "booking.promoted", True),
        ("booking.*", "session.updated", False),
        ("*", "attendance.corrected", True),
        ("session.updated", "session.updated", True),
        ("session.updated", "session.updated_again", False),
        ("session.*", "semester.updated", False),
        ("*.cancelled", "booking.cancelled", True),
        ("Booking.*", "booking.confirmed", False),
    ],
)
def test_patterns(pattern, verb, expected):
    assert matches(pattern, verb) is expected


def test_record_writes_one_row_with_its_target_and_data(django_assert_num_queries):
    staff, student = StaffFactory(), StudentFactory()
    # INSERT activity, which also asks whether a webhook endpoint is active (none, so the
    # webhooks app's hook does not run); INSERT its email task (the notifications app's).
    with transaction.atomic(), django_assert_num_queries(2):
        activity = record(
            actor=staff,
            verb=verbs.CREDITS_GRANTED,
            target=student,
            student_id=student.pk,
            amount=5,
            note="Welcome",
        )
    stored = Activity.objects.get()
    assert stored.pk == activity.pk
    assert (stored.actor, stored.student, stored.verb) == (staff, student, "credits.granted")
    assert (stored.target_type, stored.target_id) == ("accounts.user", student.pk)
    assert stored.target_model.objects.get(pk=stored.target_id) == student
    assert stored.data == {"amount": 5, "note": "Welcome"}
    assert stored.created_at is not None


def test_record_many_is_one_insert(django_assert_num_queries):
    staff = StaffFactory()
    students = StudentFactory.create_batch(30)
    entries = [
        build(actor=staff, verb=verbs.CREDITS_GRANTED, target=s, student_id=s.pk, amount=1)
        for s in students
    ]
    # One INSERT of 30 rows (asking whether a webhook endpoint is active: none); one
    # INSERT of their 30 email tasks (notifications).
    with transaction.atomic(), django_assert_num_queries(2):
        created = record_many(entries)
    assert len(created) == Activity.objects.count() == 30
    assert all(activity.pk for activity in created)


def test_unknown_verb_is_refused():
    student = StudentFactory()
    with transaction.atomic(), pytest.raises(ValueError, match=r"booking\.exploded"):
        record(actor=None, verb="booking.exploded", target=student)
    assert not Activity.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_record_outside_a_transaction_is_refused():
    # In autocommit the row would commit alone, whatever became of the change it describes.
    student = StudentFactory()
    with pytest.raises(NotInTransaction):
        record(actor=None, verb=verbs.CREDITS_GRANTED, target=student)
    assert not Activity.objects.exists()


def test_rows_are_append_only():
    student = StudentFactory()
    with transaction.atomic():
        activity = record(actor=None, verb=verbs.CREDITS_GRANTED, target=student)
    activity.data = {"forged": True}
    with pytest.raises(AppendOnly):
        activity.save()
    with pytest.raises(AppendOnly):
        activity.delete()


def test_subscribers_run_after_commit_once_per_matching_activity(
    subscribed, django_capture_on_commit_callbacks
):
    bookings = subscribed("booking.*")
    everything = subscribed("*")
    batches = subscribed("booking.*", in_transaction=True)
    student = StudentFactory()
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        record_many(
            [
                build(actor=None, verb=verbs.BOOKING_CONFIRMED, target=student),
                build(actor=None, verb=verbs.CREDITS_GRANTED, target=student),
                build(actor=None, verb=verbs.BOOKING_PROMOTED, target=student),
            ]
        )
        # In-transaction hooks already ran, after-commit ones not yet.
        assert [[a.verb for a in batch] for batch in batches] == [
            ["booking.confirmed", "booking.promoted"]
        ]
        assert bookings == everything == []
    assert [a.verb for a in bookings] == ["booking.confirmed", "booking.promoted"]
    assert [a.verb for a in everything] == [
        "booking.confirmed",
        "credits.granted",
        "booking.promoted",
    ]


def test_rolled_back_transaction_records_nothing_and_fires_nothing(
    subscribed, django_capture_on_commit_callbacks
):
    received = subscribed("*")
    student = StudentFactory()
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(IntegrityError),
        transaction.atomic(),
    ):
        record(actor=None, verb=verbs.CREDITS_GRANTED, target=student)
        # A constraint violation later in the same transaction undoes it all.
        User.objects.create(username=student.username)
    assert callbacks == []
    assert received == []
    assert not Activity.objects.exists()


def test_raising_after_commit_subscriber_is_logged_counted_and_harmless(
    subscribed, django_capture_on_commit_callbacks, caplog
):
    failing = subscribed("credits.*", raises=RuntimeError("mail server down"))
    later = subscribed("*")
    student = StudentFactory()
    before = errors_counted(verbs.CREDITS_GRANTED)
    with (
        caplog.at_level(logging.ERROR, logger="activity.subscribers"),
        django_capture_on_commit_callbacks(execute=True),
        transaction.atomic(),
    ):
        record(actor=None, verb=verbs.CREDITS_GRANTED, target=student)
    assert len(failing) == len(later) == 1  # the next subscriber still ran
    assert errors_counted(verbs.CREDITS_GRANTED) == before + 1
    assert "mail server down" in caplog.text
    assert Activity.objects.count() == 1


def test_raising_in_transaction_hook_fails_the_write(subscribed):
    subscribed("*", raises=RuntimeError("outbox full"), in_transaction=True)
    student = StudentFactory()
    with pytest.raises(RuntimeError, match="outbox full"), transaction.atomic():
        record(actor=None, verb=verbs.CREDITS_GRANTED, target=student)
    assert not Activity.objects.exists()


def test_the_readme_lists_every_verb():
    readme = (Path(settings.BASE_DIR) / "README.md").read_text()
    for verb, meaning in verbs.MEANINGS.items():
        assert f"| `{verb}` | {meaning} |" in readme
