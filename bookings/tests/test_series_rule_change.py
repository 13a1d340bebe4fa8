"""A new rule for “this and following”, through `PATCH /api/v1/series/{id}/`: the rule
from the chosen occurrence on (what the series' count has left, its skipped dates, one
end replacing the other), the refusals and problems it answers, and what it writes
(the moves in a safe order, the refunds, the activities).

From the mutation run over bookings/series.py (`_rest_rule`, `_reschedule_plan`,
`_in_a_safe_order`, `_reschedule`): each test pins numbers or words that a slip in
those functions would change."""

from datetime import date, datetime, time, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.tests.factories import InstructorFactory
from activity.models import Activity
from bookings import series as series_service
from bookings import services as booking_services
from bookings.integrity import check_integrity
from bookings.services import book_session, session_update
from scheduling.models import Session, SessionSeries
from scheduling.recurrence import local_start
from scheduling.tests.factories import SemesterFactory, SessionFactory, SpecializationFactory
from scheduling.tests.series_world import occurrences_of, started, weekly

pytestmark = pytest.mark.django_db

LIST = "/api/v1/series/"


def next_monday() -> date:
    """The first Monday after today: the tests lay their rules out from it."""
    today = timezone.localdate()
    return today + timedelta(days=7 - today.weekday())


def series_from_monday(**fields) -> SessionSeries:
    """`weekly` (Mondays and Wednesdays, 18:00, six) from the next Monday, so that every
    date below is that Monday plus a known number of days."""
    semester = SemesterFactory()
    return weekly(semester, semester.master_instructor, first_date=next_monday(), **fields)


def patch(token_client, series: SessionSeries, **fields):
    """The change as the series' master instructor sends it."""
    client = token_client(series.semester.master_instructor)
    return client.patch(f"{LIST}{series.pk}/", {"scope": "following", **fields}, format="json")


def day_of(moment: str) -> date:
    return timezone.localdate(datetime.fromisoformat(moment))


def days_of(sessions: list[Session]) -> list[date]:
    """Where these occurrences stand now, by local date."""
    rows = dict(
        Session.objects.filter(pk__in=[s.pk for s in sessions]).values_list("pk", "date_start")
    )
    return [timezone.localdate(rows[s.pk]) for s in sessions]


def test_the_count_left_after_the_pivot_skips_the_skipped_dates_on_both_sides(token_client):
    """Eight Mondays and Tuesdays, the second Monday and the fourth Tuesday skipped. From
    the third Tuesday on, four are left: eight less the four rule dates before it (the
    skipped Monday is not one of them, the Monday the day before it is). The new rule
    skips the fourth Tuesday as the old one did."""
    monday = next_monday()
    skipped_before, skipped_after = monday + timedelta(days=7), monday + timedelta(days=22)
    series = series_from_monday(
        weekdays=[1, 2], count=8, skipped_dates=[skipped_before, skipped_after]
    )
    occurrences = occurrences_of(series)
    laid_out = [(day - monday).days for day in days_of(occurrences)]
    assert laid_out == [0, 1, 8, 14, 15, 21, 28, 29]
    pivot = occurrences[4]  # the third Tuesday, monday + 15
    change = {"occurrence": pivot.pk, "weekdays": [2, 4]}

    preview = patch(token_client, series, dry_run=True, **change)

    assert preview.status_code == 200
    body = preview.json()
    # Tuesdays and Thursdays from monday + 15, four of them, monday + 22 skipped.
    assert body["changed"] == [s.pk for s in occurrences[4:]]
    assert [(m["id"], (day_of(m["date_start"]) - monday).days) for m in body["moved"]] == [
        (occurrences[5].pk, 17),
        (occurrences[6].pk, 24),
    ]
    assert (body["created"], body["cancelled"], body["problems"]) == ([], [], [])

    applied = patch(token_client, series, **change)

    assert applied.status_code == 200
    later = applied.json()["series"]
    assert later["split_from"] == series.pk
    assert (later["weekdays"], later["count"], later["until_date"]) == ([2, 4], 4, None)
    assert later["first_date"] == (monday + timedelta(days=15)).isoformat()
    assert later["skipped_dates"] == [skipped_after.isoformat()]
    offsets = [(day - monday).days for day in days_of(occurrences[4:])]
    assert offsets == [15, 17, 24, 29]
    assert check_integrity() == []


def test_the_chosen_occurrences_own_date_stays_skipped(token_client, staff):
    """An occurrence moved by hand onto a skipped date (a single-session edit may) and
    chosen as the start of a new rule: the skipped date is the rule's from there on, so
    the occurrence moves off it."""
    monday = next_monday()
    skipped = monday + timedelta(days=8)  # a Tuesday: off the Monday-Wednesday rule
    series = series_from_monday(skipped_dates=[skipped])
    occurrences = occurrences_of(series)
    start = local_start(skipped, time(18, 0))
    session_update(
        session=occurrences[2], by=staff, date_start=start, date_end=start + timedelta(hours=1)
    )

    preview = patch(
        token_client, series, dry_run=True, occurrence=occurrences[2].pk, weekdays=[2, 4]
    )

    assert preview.status_code == 200
    body = preview.json()
    # Three dates left (the Monday and Wednesday of the first week and the second Monday
    # are before it): Thursday + 10, Tuesday + 15, Thursday + 17; the Tuesday is skipped.
    assert [(m["id"], (day_of(m["date_start"]) - monday).days) for m in body["moved"]] == [
        (occurrences[2].pk, 10),
        (occurrences[3].pk, 15),
        (occurrences[4].pk, 17),
    ]
    assert body["cancelled"] == [occurrences[5].pk]


@pytest.mark.parametrize(
    ("rule", "until_date", "count", "days"),
    [
        # The end date stays when only the weekdays change: Tuesdays + 8 and + 15.
        ({"weekdays": [2]}, 16, None, [8, 15]),
        # A count alone replaces the end date: three from the pivot on the same days.
        ({"count": 3}, None, 3, [7, 9, 14]),
    ],
)
def test_a_series_with_an_end_date_keeps_it_or_trades_it_for_a_count(
    token_client, rule, until_date, count, days
):
    monday = next_monday()
    series = series_from_monday(count=None, until_date=monday + timedelta(days=16))
    occurrences = occurrences_of(series)

    applied = patch(token_client, series, occurrence=occurrences[2].pk, **rule)

    assert applied.status_code == 200, applied.json()
    later = applied.json()["series"]
    end = (monday + timedelta(days=until_date)).isoformat() if until_date else None
    assert (later["until_date"], later["count"]) == (end, count)
    kept = [o for o in later["occurrences"] if o["status"] == "scheduled"]
    assert [(day_of(o["date_start"]) - monday).days for o in kept] == days


def test_each_refused_rule_names_its_field_and_why(token_client):
    series = series_from_monday()
    occurrences = occurrences_of(series)
    monday = next_monday()
    past = started(occurrences[0], days_ago=1)
    pivot = occurrences[2]  # the second Monday
    before = list(Session.objects.order_by("pk").values_list("pk", "date_start", "status"))

    has_started = patch(token_client, series, occurrence=past.pk, weekdays=[5])
    # Fridays up to the Wednesday after the pivot: none.
    no_date = patch(
        token_client,
        series,
        occurrence=pivot.pk,
        weekdays=[5],
        until_date=(monday + timedelta(days=9)).isoformat(),
    )
    ends_before = patch(
        token_client,
        series,
        occurrence=pivot.pk,
        until_date=(monday + timedelta(days=6)).isoformat(),
    )

    assert (has_started.status_code, has_started.json()) == (
        400,
        {"occurrence": ["This occurrence has started: choose a later one to change from."]},
    )
    pivot_day = monday + timedelta(days=7)
    assert (no_date.status_code, no_date.json()) == (
        400,
        {"weekdays": [f"The new rule gives no date from {pivot_day} on."]},
    )
    assert (ends_before.status_code, ends_before.json()) == (
        400,
        {"until_date": ["The series cannot end before its first date."]},
    )
    after = list(Session.objects.order_by("pk").values_list("pk", "date_start", "status"))
    assert after == before and SessionSeries.objects.count() == 1


@pytest.mark.parametrize(("days", "status"), [(4, 200), (5, 400)])
def test_the_new_rule_may_reach_the_occurrence_limit_but_not_pass_it(
    token_client, settings, days, status
):
    series = series_from_monday()
    first = occurrences_of(series)[0]
    settings.SERIES_MAX_OCCURRENCES = 4
    # Mondays and Wednesdays from the first Monday: the fourth is + 9, the fifth + 14.
    until = next_monday() + timedelta(days={4: 9, 5: 14}[days])

    response = patch(
        token_client, series, dry_run=True, occurrence=first.pk, until_date=until.isoformat()
    )

    assert response.status_code == status
    if status == 200:
        assert len(response.json()["changed"]) == 4 and len(response.json()["cancelled"]) == 2
    else:
        assert response.json() == {"until_date": ["A series has at most 4 occurrences."]}


@pytest.mark.parametrize(
    ("rule", "moved", "created"),
    [
        # Six less the five before it: one left, the Friday after it.
        ({"weekdays": [5]}, 1, 0),
        # Two from it: one more occurrence (the instructor's qualification is checked on it).
        ({"weekdays": [5], "count": 2}, 1, 1),
    ],
)
def test_from_the_last_occurrence_the_count_left_is_one(token_client, rule, moved, created):
    series = series_from_monday()
    last = occurrences_of(series)[-1]

    preview = patch(token_client, series, dry_run=True, occurrence=last.pk, **rule)

    assert preview.status_code == 200
    body = preview.json()
    assert (len(body["moved"]), len(body["created"]), body["problems"]) == (moved, created, [])


def test_a_local_time_missing_on_one_new_date_is_that_dates_problem(token_client, settings):
    """Sundays at 02:30 in Berlin: 26 March 2028 has no 02:30. The preview names that date
    and still lays the dates after it over the occurrences; the change is refused."""
    settings.TIME_ZONE = "Europe/Berlin"
    semester = SemesterFactory(start_date=date(2028, 2, 14), end_date=date(2028, 6, 30))
    series = weekly(
        semester,
        semester.master_instructor,
        weekdays=[7],
        start_time=time(10, 0),
        first_date=date(2028, 3, 12),
    )
    occurrences = occurrences_of(series)  # 12, 19, 26 March, 2, 9, 16 April
    change = {"occurrence": occurrences[1].pk, "weekdays": [7], "start_time": "02:30"}
    before = list(Session.objects.order_by("pk").values_list("pk", "date_start", "status"))

    preview = patch(token_client, series, dry_run=True, **change)
    refused = patch(token_client, series, **change)

    detail = "2028-03-26: 02:30 does not exist in Europe/Berlin that day (the clocks skip it)."
    assert preview.status_code == 200
    body = preview.json()
    assert body["problems"] == [
        {"date": "2028-03-26", "code": "invalid", "detail": detail, "conflicts": []}
    ]
    # 19 March, then 2, 9 and 16 April: the missing date holds none of them.
    assert body["changed"] == [s.pk for s in (occurrences[1], *occurrences[3:])]
    assert (refused.status_code, refused.json()) == (400, {"occurrences": [detail]})
    after = list(Session.objects.order_by("pk").values_list("pk", "date_start", "status"))
    assert after == before and SessionSeries.objects.count() == 1


def session_writes(statements: list[dict]) -> int:
    """UPDATEs of a session's times: one per occurrence a change moves or edits."""
    return sum(
        1
        for statement in statements
        if statement["sql"].startswith('UPDATE "scheduling_session" SET')
        and '"date_start"' in statement["sql"]
    )


def test_moves_later_and_earlier_write_each_occurrence_once_and_record_the_change(
    token_client,
):
    """Mondays and Wednesdays to Mondays, Thursdays and Saturdays, eight from the first:
    the first keeps its day (its end and title still change), the second moves later,
    the others earlier (the fourth onto the Monday the third has just left), and two new
    occurrences follow. From the first occurrence: no split, no `split_into`."""
    monday = next_monday()
    series = series_from_monday()
    occurrences = occurrences_of(series)
    by = series.semester.master_instructor
    change = {
        "occurrence": occurrences[0].pk,
        "weekdays": [1, 4, 6],
        "count": 8,
        "title": "Footwork II",
        "duration_minutes": 90,
    }

    preview = patch(token_client, series, dry_run=True, **change)

    assert preview.status_code == 200
    body = preview.json()
    assert [(day_of(m["date_start"]) - monday).days for m in body["moved"]] == [0, 3, 5, 7, 10, 12]
    created = [day_of(new["date_start"]) for new in body["created"]]
    assert [(day - monday).days for day in created] == [14, 17]
    lengths = {
        datetime.fromisoformat(m["date_end"]) - datetime.fromisoformat(m["date_start"])
        for m in body["moved"] + body["created"]
    }
    assert lengths == {timedelta(minutes=90)}

    with CaptureQueriesContext(connection) as statements:
        applied = patch(token_client, series, **change)

    assert applied.status_code == 200
    # Six occurrences changed, each written once: a second write of the same one would
    # check its conflicts and stamp it again for nothing.
    assert session_writes(statements.captured_queries) == 6
    assert [(day - monday).days for day in days_of(occurrences)] == [0, 3, 5, 7, 10, 12]
    sessions = list(series.occurrences.order_by("date_start"))
    assert len(sessions) == 8
    assert {(s.title, s.date_end - s.date_start) for s in sessions} == {
        ("Footwork II", timedelta(minutes=90))
    }
    new = sessions[6:]
    assert applied.json()["sessions"] == [s.pk for s in occurrences + new]
    updated = Activity.objects.get(verb="series.updated")
    assert updated.actor == by
    assert updated.data == {
        "scope": "following",
        "sessions": [s.pk for s in occurrences],
        "changes": {"title": "Footwork II"},
        "rule": {
            "weekdays": [1, 4, 6],
            "start_time": "18:00:00",
            "duration_minutes": 90,
            "first_date": monday.isoformat(),
            "until_date": None,
            "count": 8,
            "skipped_dates": [],
        },
        "moved": [s.pk for s in occurrences],
        "created": [s.pk for s in new],
        "cancelled": [],
        "credits_refunded": 0,
    }
    announced = Activity.objects.filter(verb="session.created", session_id__in=[s.pk for s in new])
    assert [(a.session_id, a.actor) for a in announced.order_by("session_id")] == [
        (s.pk, by) for s in new
    ]
    assert check_integrity() == []


def test_fewer_dates_refund_each_left_over_and_record_the_change(token_client, funded_student):
    """From the third occurrence, two Fridays at 19:00 for 90 minutes with another
    instructor: two occurrences move, the last two are cancelled and their two paid
    bookings refunded, 2 + 2 credits."""
    series = series_from_monday()
    occurrences = occurrences_of(series)
    by = series.semester.master_instructor
    for left_over in occurrences[4:]:
        student = funded_student(10)
        book_session(student=student, session=left_over, by=student)
    teacher = InstructorFactory()
    pivot_day = next_monday() + timedelta(days=7)
    change = {
        "occurrence": occurrences[2].pk,
        "weekdays": [5],
        "count": 2,
        "start_time": "19:00",
        "duration_minutes": 90,
        "instructor": teacher.pk,
    }

    applied = patch(token_client, series, **change)

    assert applied.status_code == 200
    assert applied.json()["credits_refunded"] == 4
    later = SessionSeries.objects.get(split_from=series)
    assert applied.json()["series"]["id"] == later.pk
    moved = Session.objects.filter(pk__in=[s.pk for s in occurrences[2:4]]).order_by("date_start")
    assert [
        (timezone.localtime(s.date_start).isoweekday(), timezone.localtime(s.date_start).time())
        for s in moved
    ] == [(5, time(19, 0))] * 2
    assert {(s.instructor_id, s.date_end - s.date_start) for s in moved} == {
        (teacher.pk, timedelta(minutes=90))
    }
    updated = Activity.objects.get(verb="series.updated")
    assert updated.actor == by
    assert updated.data == {
        "scope": "following",
        "split_into": later.pk,
        "sessions": [s.pk for s in occurrences[2:4]],
        "changes": {"instructor": teacher.pk},
        "rule": {
            "weekdays": [5],
            "start_time": "19:00:00",
            "duration_minutes": 90,
            "first_date": pivot_day.isoformat(),
            "until_date": None,
            "count": 2,
            "skipped_dates": [],
        },
        "moved": [s.pk for s in occurrences[2:4]],
        "created": [],
        "cancelled": [s.pk for s in occurrences[4:]],
        "credits_refunded": 4,
    }
    assert check_integrity() == []


def test_an_edit_a_moved_occurrence_refuses_names_its_date(token_client, funded_student):
    """A capacity below an occurrence's confirmed bookings is refused by the session edit
    itself, after the dates were checked: 409 naming the occurrence's date (the first
    one, which keeps its day), and nothing is written."""
    series = series_from_monday()
    occurrences = occurrences_of(series)
    for _ in range(2):
        student = funded_student(10)
        book_session(student=student, session=occurrences[0], by=student)
    before = list(Session.objects.order_by("pk").values_list("pk", "date_start", "capacity"))

    refused = patch(token_client, series, occurrence=occurrences[0].pk, weekdays=[1, 5], capacity=1)

    assert (refused.status_code, refused.json()) == (
        409,
        {
            "detail": f"{next_monday()}: Capacity 1 is below the 2 confirmed bookings.",
            "code": "capacity_below_confirmed",
        },
    )
    after = list(Session.objects.order_by("pk").values_list("pk", "date_start", "capacity"))
    assert after == before
    assert not Activity.objects.filter(verb="series.updated").exists()


def test_new_occurrences_need_an_instructor_qualified_for_them(token_client):
    """The preview answers 403 as the change would: the new occurrences would target a
    specialization the instructor holds no qualification for."""
    series = series_from_monday()
    first = occurrences_of(series)[0]
    specialization = SpecializationFactory()

    preview = patch(
        token_client,
        series,
        dry_run=True,
        occurrence=first.pk,
        count=8,
        target_specialization=specialization.code,
    )

    assert preview.status_code == 403
    assert preview.json()["code"] == "not_qualified"


def test_a_clash_that_comes_in_before_the_locks_refuses_the_change(token_client, monkeypatch):
    """Another writer books the room of a new date after the plan was checked but before
    this change takes the conflict locks: the check under the locks refuses it (409 with
    the date), and the new occurrence is not written over the other session."""
    series = series_from_monday()
    first = occurrences_of(series)[0]
    plan = patch(token_client, series, dry_run=True, occurrence=first.pk, count=7).json()
    (new,) = plan["created"]
    real_lock = series_service.lock_conflict_guards

    def another_writer_first(candidates):
        SessionFactory(
            semester=series.semester,
            instructor=InstructorFactory(),
            location=series.location,
            date_start=new["date_start"],
            date_end=new["date_end"],
        )
        real_lock(candidates)

    monkeypatch.setattr(series_service, "lock_conflict_guards", another_writer_first)

    refused = patch(token_client, series, occurrence=first.pk, count=7)

    assert refused.status_code == 409
    assert refused.json()["code"] == "location_busy"
    assert [p["date"] for p in refused.json()["problems"]] == [new["date_start"][:10]]
    assert series.occurrences.count() == 6


def test_a_left_over_that_cannot_be_cancelled_in_time_names_its_date(
    token_client, funded_student, monkeypatch
):
    """The left-over occurrence's cancellation gives up (its paid student's waitlists keep
    changing under it, as a concurrent writer would make them): 503 naming the date."""
    series = series_from_monday()
    occurrences = occurrences_of(series)
    student = funded_student(10)
    book_session(student=student, session=occurrences[5], by=student)

    def keeps_growing(student_ids, sessions):
        raise booking_services._PromotableSetGrew

    monkeypatch.setattr(booking_services, "_promotable_sessions_locked", keeps_growing)

    refused = patch(token_client, series, occurrence=occurrences[2].pk, weekdays=[5], count=3)

    left_over_day = timezone.localdate(occurrences[5].date_start)
    assert (refused.status_code, refused.json()) == (
        503,
        {
            "detail": f"{left_over_day}: The student's waitlists keep changing; retry shortly.",
            "code": "busy",
        },
    )
    assert Session.objects.get(pk=occurrences[5].pk).status == "scheduled"
