"""Recurring series: wall-clock times across daylight-saving changes, all-or-nothing
creation naming the failing dates, previews and bounded statement counts."""

from datetime import date, time, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from accounts.tests.factories import InstructorFactory, StaffFactory
from activity.models import Activity
from config.errors import Conflict
from scheduling.models import Session, SessionSeries
from scheduling.series import series_create, series_plan
from scheduling.tests.factories import SemesterFactory, SessionFactory

pytestmark = pytest.mark.django_db

TUESDAY, THURSDAY, SUNDAY = 2, 4, 7


def semester_of(start: date, weeks: int = 16, **fields):
    return SemesterFactory(
        start_date=start, end_date=start + timedelta(weeks=weeks, days=-1), **fields
    )


def rule(semester, **fields) -> dict:
    return {
        "title": "Evening technique",
        "instructor": semester.master_instructor,
        "weekdays": [TUESDAY, THURSDAY],
        "start_time": time(18, 0),
        "duration_minutes": 90,
        "first_date": semester.start_date,
        "until_date": semester.end_date,
        **fields,
    }


def a_wednesday_ahead() -> date:
    """A Wednesday a week or more ahead: a term from it ends on a Tuesday, and its second
    day is a Thursday, whatever day the tests run on."""
    soon = timezone.localdate() + timedelta(days=7)
    return soon + timedelta(days=(3 - soon.isoweekday()) % 7)


def nothing_written(before: int) -> bool:
    return not SessionSeries.objects.exists() and Session.objects.count() == before


@pytest.mark.parametrize(
    "zone, term_start",
    [
        # Spring: the US changes on 14 March 2027, Europe on 28 March (last Sunday).
        ("Europe/Berlin", date(2027, 2, 15)),
        ("America/New_York", date(2027, 2, 15)),
        # Autumn: Europe on 31 October 2027 (last Sunday), the US on 7 November.
        ("Europe/Berlin", date(2027, 9, 20)),
        ("America/New_York", date(2027, 9, 20)),
    ],
)
def test_a_twice_weekly_term_keeps_its_wall_clock_time_across_dst(settings, zone, term_start):
    settings.TIME_ZONE = zone
    semester = semester_of(term_start)

    series = series_create(by=StaffFactory(), semester=semester, **rule(semester))

    starts = list(series.occurrences.values_list("date_start", flat=True))
    assert len(starts) == 32
    local = [timezone.localtime(start) for start in starts]
    assert {moment.time() for moment in local} == {time(18, 0)}
    assert {moment.isoweekday() for moment in local} == {TUESDAY, THURSDAY}
    # The term really crosses a change: two UTC offsets, one wall-clock time.
    assert len({moment.utcoffset() for moment in local}) == 2
    ends = series.occurrences.values_list("date_start", "date_end")
    assert {end - start for start, end in ends} == {timedelta(minutes=90)}


@pytest.mark.parametrize(
    "day, at, says",
    [
        (
            date(2027, 3, 28),
            time(2, 30),
            "does not exist in Europe/Berlin that day (the clocks skip it).",
        ),
        (
            date(2027, 10, 31),
            time(2, 30),
            "happens twice in Europe/Berlin that day (the clocks go back); choose another time.",
        ),
    ],
)
def test_a_local_time_missing_or_doubled_on_a_change_day_is_refused(settings, day, at, says):
    settings.TIME_ZONE = "Europe/Berlin"
    semester = semester_of(date(2027, 2, 15), weeks=40)
    before = Session.objects.count()

    with pytest.raises(ValidationError) as refused:
        series_create(
            by=StaffFactory(),
            semester=semester,
            **rule(
                semester,
                weekdays=[SUNDAY],
                start_time=at,
                first_date=day - timedelta(weeks=1),
                until_date=day + timedelta(weeks=1),
            ),
        )

    (message,) = refused.value.message_dict["occurrences"]
    assert message == f"{day}: 02:30 {says}"
    assert nothing_written(before)


def test_one_date_outside_the_semester_writes_nothing_and_names_it():
    semester = semester_of(a_wednesday_ahead())
    late = semester.end_date + timedelta(days=(THURSDAY - semester.end_date.isoweekday()) % 7 or 7)
    before = Session.objects.count()

    with pytest.raises(ValidationError) as refused:
        series_create(by=StaffFactory(), semester=semester, **rule(semester, until_date=late))

    (message,) = refused.value.message_dict["occurrences"]
    assert message.startswith(str(late)) and "within semester" in message
    assert nothing_written(before)
    assert not Activity.objects.filter(verb="series.created").exists()


def test_one_conflicting_date_writes_nothing_and_names_it_and_the_session():
    semester = semester_of(timezone.localdate() + timedelta(days=7))
    plan = series_plan(by=StaffFactory(), semester=semester, **rule(semester))
    busy_day = plan.occurrences[5]
    taken = SessionFactory(
        semester=SemesterFactory(),  # another semester: conflicts cross semesters
        instructor=semester.master_instructor,
        date_start=busy_day.date_start + timedelta(minutes=30),
        date_end=busy_day.date_end + timedelta(hours=1),
        title="Private lesson",
    )
    before = Session.objects.count()

    with pytest.raises(Conflict) as refused:
        series_create(by=StaffFactory(), semester=semester, **rule(semester))

    assert refused.value.code == "instructor_busy"
    (problem,) = refused.value.extra["problems"]
    assert problem["date"] == timezone.localdate(busy_day.date_start).isoformat()
    assert problem["conflicts"][0]["id"] == taken.pk
    assert nothing_written(before)


def test_the_preview_lists_occurrences_and_problems_without_writing():
    semester = semester_of(a_wednesday_ahead())
    # The rule's first day (a Tuesday or a Thursday).
    busy_day = next(
        day
        for day in (semester.start_date + timedelta(days=n) for n in range(7))
        if day.isoweekday() in (TUESDAY, THURSDAY)
    )
    other = InstructorFactory()
    SessionFactory(
        semester=semester,
        instructor=other,
        date_start=timezone.make_aware(timezone.datetime.combine(busy_day, time(18, 30))),
        location=semester.location.upper(),
    )
    before = Session.objects.count()

    plan = series_plan(by=StaffFactory(), semester=semester, **rule(semester))

    assert len(plan.occurrences) == 32
    assert [(p.date, p.code) for p in plan.problems] == [(busy_day, "location_busy")]
    assert Session.objects.count() == before


def test_skipped_dates_and_a_count_shape_the_series():
    semester = semester_of(timezone.localdate() + timedelta(days=7))
    first_tuesday = semester.start_date + timedelta(
        days=(TUESDAY - semester.start_date.isoweekday()) % 7
    )
    fields = rule(semester, until_date=None, count=5, skipped_dates=[first_tuesday])

    series = series_create(by=StaffFactory(), semester=semester, **fields)

    days = [timezone.localdate(s) for s in series.occurrences.values_list("date_start", flat=True)]
    assert len(days) == 5 and first_tuesday not in days
    assert series.skipped_dates == [first_tuesday.isoformat()]


@pytest.mark.parametrize(
    "fields, field",
    [
        ({"weekdays": []}, "weekdays"),
        ({"weekdays": [0, 8]}, "weekdays"),
        ({"count": 3}, "until_date"),
        ({"duration_minutes": 0}, "duration_minutes"),
    ],
)
def test_a_malformed_rule_is_refused_naming_the_field(fields, field):
    semester = semester_of(timezone.localdate() + timedelta(days=7))

    with pytest.raises(ValidationError) as refused:
        series_create(by=StaffFactory(), semester=semester, **rule(semester, **fields))

    assert field in refused.value.message_dict


def test_a_stranger_cannot_create_a_series():
    from config.errors import PermissionDenied

    semester = semester_of(timezone.localdate() + timedelta(days=7))

    with pytest.raises(PermissionDenied):
        series_create(by=InstructorFactory(), semester=semester, **rule(semester))


@pytest.mark.parametrize("weeks", [1, 16])
def test_creating_a_series_costs_the_same_statements_at_any_size(weeks, django_assert_num_queries):
    semester = semester_of(timezone.localdate() + timedelta(days=7), weeks=weeks)
    staff = StaffFactory()
    postgresql = connection.vendor == "postgresql"

    # Savepoint + release (+ SET LOCAL lock_timeout on PostgreSQL); 1 lock of the
    # instructor's row (+ 1 advisory lock of the location on PostgreSQL); 1 conflict
    # query for every occurrence; 1 INSERT of the series; 1 bulk INSERT of the
    # occurrences; 1 INSERT of the activities (series.created + a session.created each),
    # which also asks whether a webhook endpoint is active.
    with django_assert_num_queries(9 if postgresql else 7):
        series = series_create(by=staff, semester=semester, **rule(semester))

    assert series.occurrences.count() == 2 * weeks
    assert Activity.objects.filter(verb="session.created").count() == 2 * weeks


def test_a_series_own_occurrences_may_not_overlap(settings):
    """A day-long class on Saturday and Sunday at 18:00: the spring change makes Saturday's
    24 hours end at 19:00 on Sunday, after Sunday's class has begun."""
    settings.TIME_ZONE = "Europe/Berlin"
    semester = semester_of(date(2027, 3, 1), weeks=8)
    before = Session.objects.count()

    with pytest.raises(Conflict) as refused:
        series_create(
            by=StaffFactory(),
            semester=semester,
            **rule(
                semester,
                weekdays=[6, SUNDAY],
                duration_minutes=24 * 60,
                first_date=date(2027, 3, 27),
                until_date=None,
                count=2,
            ),
        )

    (problem,) = refused.value.extra["problems"]
    assert problem["date"] == "2027-03-28"
    assert problem["conflicts"][0]["id"] is None  # the series' own Saturday occurrence
    assert nothing_written(before)
