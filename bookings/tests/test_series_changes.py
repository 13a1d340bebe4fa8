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
from scheduling.models import Session, SessionSeries
from scheduling.tests.factories import SemesterFactory, SessionFactory
from scheduling.tests.series_world import started, weekly

pytestmark = pytest.mark.django_db


def test_this_and_following_with_a_new_time_splits_the_series_and_keeps_bookings(funded_student):
    staff = StaffFactory()
    series = weekly(SemesterFactory(), staff)
    occurrences = list(series.occurrences.order_by("date_start"))
    first = started(occurrences[0], days_ago=7)
    attendance = AttendanceFactory(session=first)
    student = funded_student(10)
    early = book_session(student=student, session=occurrences[1], by=student)
    booking = book_session(student=student, session=occurrences[3], by=student)
    pivot_day = timezone.localdate(occurrences[2].date_start)

    result = series_update(
        series=series,
        by=staff,
        scope="following",
        occurrence=occurrences[2],
        title="Footwork II",
        start_time=time(19, 30),
    )

    assert [s.pk for s in result.sessions] == [s.pk for s in occurrences[2:]]
    later = result.series
    assert later.pk != series.pk and later.split_from_id == series.pk
    # The earlier occurrences stay with the original, unchanged, attendance and all.
    series.refresh_from_db()
    assert [s.pk for s in series.occurrences.order_by("date_start")] == [
        s.pk for s in occurrences[:2]
    ]
    for earlier in series.occurrences.all():
        assert earlier.title == "Footwork"
    assert Session.objects.get(pk=occurrences[1].pk).date_start == occurrences[1].date_start
    attendance.refresh_from_db()
    assert attendance.session_id == first.pk
    # The original's rule ends where the new one begins: 6 = 2 + 4 occurrences.
    assert (series.title, series.start_time, series.count) == ("Footwork", time(18, 0), 2)
    assert (later.title, later.start_time, later.count) == ("Footwork II", time(19, 30), 4)
    assert later.first_date == pivot_day
    assert [s.pk for s in later.occurrences.order_by("date_start")] == [
        s.pk for s in occurrences[2:]
    ]
    for moved in later.occurrences.all():
        assert moved.title == "Footwork II"
        assert timezone.localtime(moved.date_start).time() == time(19, 30)
    assert timezone.localdate(Session.objects.get(pk=occurrences[3].pk).date_start) == (
        timezone.localdate(occurrences[3].date_start)
    )
    booking.refresh_from_db()
    early.refresh_from_db()
    assert booking.status == "confirmed" and booking.session_id == occurrences[3].pk
    assert early.status == "confirmed" and early.session_id == occurrences[1].pk
    updated = Activity.objects.get(verb="series.updated")
    assert updated.data["split_into"] == later.pk
    assert Activity.objects.filter(verb="session.updated").count() == 4
    assert check_integrity() == []


def test_a_split_of_a_series_with_an_end_date_cuts_the_end_date():
    staff = StaffFactory()
    series = weekly(SemesterFactory(), staff)
    occurrences = list(series.occurrences.order_by("date_start"))
    end = timezone.localdate(occurrences[-1].date_start)
    SessionSeries.objects.filter(pk=series.pk).update(count=None, until_date=end)
    series.refresh_from_db()
    pivot_day = timezone.localdate(occurrences[3].date_start)

    result = series_update(
        series=series, by=staff, scope="following", occurrence=occurrences[3], duration_minutes=90
    )

    series.refresh_from_db()
    assert series.until_date == pivot_day - timedelta(days=1)
    assert (result.series.first_date, result.series.until_date) == (pivot_day, end)
    assert result.series.duration_minutes == 90 and series.duration_minutes == 60
    assert series.occurrences.count() == 3 and result.series.occurrences.count() == 3


def test_this_and_following_without_a_new_time_keeps_one_series():
    staff = StaffFactory()
    series = weekly(SemesterFactory(), staff)
    occurrences = list(series.occurrences.order_by("date_start"))

    result = series_update(
        series=series, by=staff, scope="following", occurrence=occurrences[2], title="Footwork II"
    )

    assert result.series.pk == series.pk and SessionSeries.objects.count() == 1
    titles = [s.title for s in series.occurrences.order_by("date_start")]
    assert titles == ["Footwork"] * 2 + ["Footwork II"] * 4


def test_this_and_following_from_the_first_occurrence_does_not_split():
    staff = StaffFactory()
    series = weekly(SemesterFactory(), staff)
    first = series.occurrences.order_by("date_start").first()

    series_update(
        series=series, by=staff, scope="following", occurrence=first, start_time=time(9, 0)
    )

    series.refresh_from_db()
    assert SessionSeries.objects.count() == 1 and series.start_time == time(9, 0)


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
    assert no_scope.value.message_dict == {"scope": ["One of this, following, all."]}
    assert no_occurrence.value.message_dict == {
        "occurrence": ["An occurrence of this series is needed."]
    }
