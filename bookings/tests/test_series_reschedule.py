"""“This and following” with a new rule: the following occurrences move onto the new
dates in order (bookings kept), extra dates are created, left-over occurrences are
cancelled with their refunds; one bad date refuses it all, naming the date."""

from datetime import time, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.tests.factories import StaffFactory
from activity.models import Activity
from bookings.integrity import check_integrity
from bookings.models import Booking, CreditTransaction
from bookings.series import series_update, series_update_plan
from bookings.services import book_session
from config.errors import Conflict
from engagement.tests.factories import AttendanceFactory
from scheduling.models import Session, SessionSeries
from scheduling.tests.factories import SemesterFactory, SessionFactory
from scheduling.tests.series_world import started, weekly

pytestmark = pytest.mark.django_db


def local(session: Session):
    return timezone.localtime(Session.objects.get(pk=session.pk).date_start)


def snapshot(series: SessionSeries) -> list[tuple]:
    return list(
        Session.objects.filter(semester=series.semester)
        .order_by("pk")
        .values_list("pk", "series_id", "date_start", "date_end", "status", "title")
    )


def test_fewer_new_dates_move_the_first_ones_and_cancel_the_rest(funded_student):
    staff = StaffFactory()
    series = weekly(SemesterFactory(), staff)
    occurrences = list(series.occurrences.order_by("date_start"))
    first = started(occurrences[0], days_ago=7)
    attendance = AttendanceFactory(session=first)
    kept, refunded = funded_student(10), funded_student(10)
    moved_booking = book_session(student=kept, session=occurrences[3], by=kept)
    lost_booking = book_session(student=refunded, session=occurrences[5], by=refunded)
    pivot = occurrences[2]
    plan = series_update_plan(
        series=series,
        by=staff,
        scope="following",
        occurrence=pivot,
        weekdays=[2],
        count=3,
        start_time=time(19, 0),
    )
    assert plan.problems == [] and len(plan.changed) == 3 and plan.created == []
    assert [s.pk for s in plan.cancelled] == [occurrences[5].pk]
    assert (plan.students_told, plan.students_refunded, plan.credits_refunded) == (2, 1, 2)
    assert SessionSeries.objects.count() == 1  # the dry run wrote nothing

    result = series_update(
        series=series,
        by=staff,
        scope="following",
        occurrence=pivot,
        weekdays=[2],
        count=3,
        start_time=time(19, 0),
    )

    later = result.series
    assert later.split_from_id == series.pk
    assert (later.weekdays, later.count, later.start_time) == ([2], 3, time(19, 0))
    series.refresh_from_db()
    assert series.count == 2 and series.weekdays == [1, 3]
    # The three following occurrences now fall on the next three Tuesdays from the pivot.
    pivot_day = timezone.localdate(pivot.date_start)
    tuesdays = [pivot_day + timedelta(days=(1 - pivot_day.weekday()) % 7 + 7 * i) for i in range(3)]
    moved = occurrences[2:5]
    assert [local(s).date() for s in moved] == tuesdays
    assert {local(s).time() for s in moved} == {time(19, 0)}
    assert set(later.occurrences.values_list("pk", flat=True)) == {s.pk for s in occurrences[2:]}
    # Earlier occurrences untouched, attendance and all.
    assert local(occurrences[1]) == timezone.localtime(occurrences[1].date_start)
    attendance.refresh_from_db()
    assert attendance.session_id == first.pk
    moved_booking.refresh_from_db()
    lost_booking.refresh_from_db()
    assert moved_booking.status == "confirmed" and moved_booking.session_id == occurrences[3].pk
    assert lost_booking.status == "cancelled"
    assert Session.objects.get(pk=occurrences[5].pk).status == "cancelled"
    assert CreditTransaction.objects.filter(kind="refund", booking=lost_booking).count() == 1
    refunded.refresh_from_db()
    assert refunded.credit_balance == 10
    updated = Activity.objects.get(verb="series.updated")
    assert updated.data["split_into"] == later.pk
    assert updated.data["moved"] == [s.pk for s in moved]
    assert updated.data["cancelled"] == [occurrences[5].pk] and updated.data["created"] == []
    assert updated.data["rule"]["weekdays"] == [2]
    # Each move is a session.updated (what notifications tell the booked students of).
    told = Activity.objects.filter(verb="session.updated", session_id=occurrences[3].pk)
    assert "date_start" in told.get().data["changes"]
    assert Activity.objects.filter(verb="session.cancelled").count() == 1
    assert check_integrity() == []


def test_more_new_dates_create_occurrences_in_the_new_series():
    staff = StaffFactory()
    series = weekly(SemesterFactory(), staff)
    occurrences = list(series.occurrences.order_by("date_start"))

    result = series_update(
        series=series,
        by=staff,
        scope="following",
        occurrence=occurrences[4],
        weekdays=[1, 3, 5],
        count=5,
    )

    later = result.series
    assert later.occurrences.count() == 5 and series.occurrences.count() == 4
    days = [
        timezone.localdate(s.date_start).isoweekday()
        for s in later.occurrences.order_by("date_start")
    ]
    assert set(days) <= {1, 3, 5} and len(set(days)) > 1
    assert {s.pk for s in occurrences[4:]} < set(later.occurrences.values_list("pk", flat=True))
    assert Activity.objects.filter(verb="session.created", data__series_id=later.pk).count() == 3
    assert len(Activity.objects.get(verb="series.updated").data["created"]) == 3
    assert check_integrity() == []


def test_a_new_rule_from_the_first_occurrence_keeps_one_series_and_an_end_date():
    staff = StaffFactory()
    series = weekly(SemesterFactory(), staff)
    first = series.occurrences.order_by("date_start").first()
    until = timezone.localdate(first.date_start) + timedelta(days=20)

    result = series_update(
        series=series, by=staff, scope="following", occurrence=first, weekdays=[4], until_date=until
    )

    series.refresh_from_db()
    assert result.series.pk == series.pk and SessionSeries.objects.count() == 1
    assert (series.until_date, series.count, series.weekdays) == (until, None, [4])
    scheduled = series.occurrences.filter(status="scheduled")
    assert {timezone.localdate(s.date_start).isoweekday() for s in scheduled} == {4}
    assert scheduled.count() == series.occurrences.count() - 3


def test_a_date_outside_the_semester_refuses_everything_and_names_it():
    staff = StaffFactory()
    semester = SemesterFactory()
    series = weekly(semester, staff)
    occurrences = list(series.occurrences.order_by("date_start"))
    before = snapshot(series)
    too_late = semester.end_date + timedelta(days=14)

    with pytest.raises(ValidationError) as refused:
        series_update(
            series=series,
            by=staff,
            scope="following",
            occurrence=occurrences[2],
            weekdays=[1, 3],
            count=None,
            until_date=too_late,
        )

    text = " ".join(refused.value.messages)
    assert "occurrences" in refused.value.message_dict
    assert str(semester.end_date + timedelta(days=1)) in text or semester.code in text
    assert snapshot(series) == before and SessionSeries.objects.count() == 1


def test_a_conflicting_new_date_refuses_everything_and_names_it(funded_student):
    staff = StaffFactory()
    series = weekly(SemesterFactory(), staff)
    occurrences = list(series.occurrences.order_by("date_start"))
    student = funded_student(10)
    book_session(student=student, session=occurrences[5], by=student)
    plan = series_update_plan(
        series=series, by=staff, scope="following", occurrence=occurrences[2], weekdays=[5]
    )
    busy = plan.changed[1][1]
    SessionFactory(
        semester=series.semester,
        instructor=series.instructor,
        date_start=busy.date_start,
        date_end=busy.date_end,
        location="Elsewhere",
    )
    before = snapshot(series)
    balance = Booking.objects.get(session=occurrences[5]).student.credit_balance

    with pytest.raises(Conflict) as refused:
        series_update(
            series=series, by=staff, scope="following", occurrence=occurrences[2], weekdays=[5]
        )

    assert refused.value.code == "instructor_busy"
    assert str(timezone.localdate(busy.date_start)) in refused.value.message
    assert snapshot(series) == before and SessionSeries.objects.count() == 1
    assert Booking.objects.get(session=occurrences[5]).status == "confirmed"
    assert Booking.objects.get(session=occurrences[5]).student.credit_balance == balance
    assert not Activity.objects.filter(verb="series.updated").exists()


def test_a_move_onto_the_next_occurrences_slot_passes_step_by_step():
    """Mondays and Wednesdays to Wednesdays only: the first following occurrence moves
    onto the Wednesday the next one still holds, which moves on first."""
    staff = StaffFactory()
    series = weekly(SemesterFactory(), staff)
    occurrences = list(series.occurrences.order_by("date_start"))

    series_update(
        series=series, by=staff, scope="following", occurrence=occurrences[0], weekdays=[3]
    )

    days = [local(s).isoweekday() for s in occurrences]
    assert set(days) == {3}
    assert Session.objects.filter(series=series, status="scheduled").count() == 6
    assert check_integrity() == []


def test_a_rule_needs_following_and_an_occurrence_that_has_not_started():
    staff = StaffFactory()
    series = weekly(SemesterFactory(), staff)
    occurrences = list(series.occurrences.order_by("date_start"))
    past = started(occurrences[0], days_ago=2)

    with pytest.raises(ValidationError) as wrong_scope:
        series_update(series=series, by=staff, scope="all", weekdays=[2])
    with pytest.raises(ValidationError) as has_started:
        series_update(series=series, by=staff, scope="following", occurrence=past, weekdays=[2])
    with pytest.raises(ValidationError) as both_ends:
        series_update(
            series=series,
            by=staff,
            scope="following",
            occurrence=occurrences[2],
            count=2,
            until_date=timezone.localdate() + timedelta(days=30),
        )

    assert "scope" in wrong_scope.value.message_dict
    assert "occurrence" in has_started.value.message_dict
    assert "until_date" in both_ends.value.message_dict
