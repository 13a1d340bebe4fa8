"""Scoped changes of a series: `following` edits only later occurrences and keeps their
bookings; cancelling all remaining refunds each confirmed booking exactly once."""

from datetime import time, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.tests.factories import StaffFactory, StudentFactory
from activity.models import Activity
from bookings.integrity import check_integrity
from bookings.models import Booking, CreditTransaction
from bookings.series import series_cancel, series_update
from bookings.services import book_session
from config.errors import Conflict, PermissionDenied
from engagement.tests.factories import AttendanceFactory
from scheduling.models import Session
from scheduling.series import series_create
from scheduling.tests.factories import SemesterFactory, SessionFactory

pytestmark = pytest.mark.django_db


def weekly(semester, by, **fields):
    """Six Monday and Wednesday occurrences from tomorrow, 18:00 local."""
    return series_create(
        by=by,
        semester=semester,
        title="Footwork",
        instructor=semester.master_instructor,
        weekdays=[1, 3],
        start_time=time(18, 0),
        duration_minutes=60,
        first_date=timezone.localdate() + timedelta(days=1),
        count=6,
        capacity=5,
        credit_cost=2,
        **fields,
    )


def started(session: Session, days_ago: int) -> Session:
    """Move an occurrence into the past, as time would (no service moves sessions back)."""
    start = timezone.now() - timedelta(days=days_ago)
    Session.objects.filter(pk=session.pk).update(
        date_start=start, date_end=start + timedelta(hours=1)
    )
    session.refresh_from_db()
    return session


def test_this_and_following_changes_only_later_occurrences_and_keeps_their_bookings(funded_student):
    staff = StaffFactory()
    series = weekly(SemesterFactory(), staff)
    occurrences = list(series.occurrences.order_by("date_start"))
    first = started(occurrences[0], days_ago=7)
    AttendanceFactory(session=first)
    student = funded_student(10)
    booking = book_session(student=student, session=occurrences[3], by=student)

    result = series_update(
        series=series,
        by=staff,
        scope="following",
        occurrence=occurrences[2],
        title="Footwork II",
        start_time=time(19, 30),
    )

    assert [s.pk for s in result.sessions] == [s.pk for s in occurrences[2:]]
    after = {s.pk: s for s in series.occurrences.all()}
    for earlier in occurrences[:2]:
        assert after[earlier.pk].title == "Footwork"
        assert after[earlier.pk].date_start == Session.objects.get(pk=earlier.pk).date_start
    assert after[occurrences[1].pk].date_start == occurrences[1].date_start
    for later in occurrences[2:]:
        moved = after[later.pk]
        assert moved.title == "Footwork II"
        assert timezone.localtime(moved.date_start).time() == time(19, 30)
        assert timezone.localdate(moved.date_start) == timezone.localdate(later.date_start)
    booking.refresh_from_db()
    assert booking.status == "confirmed" and booking.session_id == occurrences[3].pk
    series.refresh_from_db()
    assert series.title == "Footwork II" and series.start_time == time(19, 30)
    assert Activity.objects.filter(verb="series.updated").count() == 1
    assert Activity.objects.filter(verb="session.updated").count() == 4
    assert check_integrity() == []


def test_a_scoped_edit_that_breaks_one_date_changes_nothing_and_names_it():
    staff = StaffFactory()
    series = weekly(SemesterFactory(), staff)
    occurrences = list(series.occurrences.order_by("date_start"))
    target = occurrences[4]
    SessionFactory(
        semester=series.semester,
        instructor=series.instructor,
        date_start=target.date_start + timedelta(hours=2),
        date_end=target.date_start + timedelta(hours=3),
        location="Elsewhere",
    )

    with pytest.raises(Conflict) as refused:
        series_update(series=series, by=staff, scope="all", start_time=time(20, 0))

    assert refused.value.code == "instructor_busy"
    assert str(timezone.localdate(target.date_start)) in refused.value.message
    assert {timezone.localtime(s.date_start).time() for s in series.occurrences.all()} == {
        time(18, 0)
    }


def test_cancelling_all_remaining_refunds_every_confirmed_booking_exactly_once(funded_student):
    staff = StaffFactory()
    series = weekly(SemesterFactory(), staff)
    occurrences = list(series.occurrences.order_by("date_start"))
    students = [funded_student(12) for _ in range(3)]
    for session in occurrences:
        for student in students:
            book_session(student=student, session=session, by=student)
    past = started(occurrences[0], days_ago=3)
    waiting = funded_student(2)
    full = occurrences[5]
    Session.objects.filter(pk=full.pk).update(capacity=3)
    book_session(student=waiting, session=full, by=waiting)  # waitlisted

    result = series_cancel(series=series, by=staff, scope="all")

    remaining = occurrences[1:]
    assert [s.pk for s in result.sessions] == [s.pk for s in remaining]
    assert result.credits_refunded == 2 * 3 * len(remaining)
    refunds = CreditTransaction.objects.filter(kind="refund")
    assert refunds.count() == 3 * len(remaining)
    assert refunds.values("booking").distinct().count() == refunds.count()
    assert set(
        Session.objects.filter(pk__in=[s.pk for s in remaining]).values_list("status", flat=True)
    ) == {"cancelled"}
    past.refresh_from_db()
    assert past.status == "scheduled"
    assert Booking.objects.filter(session=past, status="confirmed").count() == 3
    for student in students:
        student.refresh_from_db()
        assert student.credit_balance == 12 - 2
    assert Activity.objects.filter(verb="session.cancelled").count() == len(remaining)
    assert check_integrity() == []

    again = series_cancel(series=series, by=staff, scope="all")
    assert again.sessions == [] and again.credits_refunded == 0
    assert CreditTransaction.objects.filter(kind="refund").count() == 3 * len(remaining)


def test_cancelling_this_one_leaves_the_others():
    staff = StaffFactory()
    series = weekly(SemesterFactory(), staff)
    occurrences = list(series.occurrences.order_by("date_start"))

    series_cancel(series=series, by=staff, scope="this", occurrence=occurrences[2])

    statuses = [s.status for s in series.occurrences.order_by("date_start")]
    assert statuses == [
        "scheduled",
        "scheduled",
        "cancelled",
        "scheduled",
        "scheduled",
        "scheduled",
    ]


def test_scoped_changes_need_a_manager_a_scope_and_an_occurrence():
    staff = StaffFactory()
    series = weekly(SemesterFactory(), staff)

    with pytest.raises(PermissionDenied):
        series_cancel(series=series, by=StudentFactory(), scope="all")
    with pytest.raises(ValidationError) as no_scope:
        series_cancel(series=series, by=staff, scope="everything")
    with pytest.raises(ValidationError) as no_occurrence:
        series_update(series=series, by=staff, scope="following", title="x")
    assert "scope" in no_scope.value.message_dict
    assert "occurrence" in no_occurrence.value.message_dict
