"""Scoped edits and cancellations of a series and their dry runs, through the API: which
occurrences a scope reaches and in what order, each refusal naming its date exactly as
a single session's would, what a preview counts, what the activity log records, and
where a "this and following" split cuts the series' rule.

Written against the mutation run's survivors of bookings/series.py: each test pins a
rule a mutant broke unnoticed (a message's words, a count, a tie-break, a record key).
"""

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.tests.factories import InstructorFactory, StaffFactory
from bookings import series as series_services
from bookings.models import Booking, CreditTransaction
from bookings.services import book_session, cancel_booking, session_update
from scheduling.models import Session, SessionSeries
from scheduling.recurrence import occurrence_dates
from scheduling.tests.factories import SemesterFactory, SessionFactory
from scheduling.tests.series_world import occurrences_of, weekly

pytestmark = pytest.mark.django_db

SERIES = "/api/v1/series/"
SUNDAY = 7


def edit(client, series: SessionSeries, **body):
    return client.patch(f"{SERIES}{series.pk}/", body, format="json")


def cancel(client, series: SessionSeries, **body):
    return client.post(f"{SERIES}{series.pk}/cancel/", body, format="json")


def read(client, series_id: int) -> dict:
    return client.get(f"{SERIES}{series_id}/").json()


def logged(client, verb: str) -> dict:
    """The data of the one `verb` activity, read as staff read the log."""
    (entry,) = client.get("/api/v1/activity/", {"verb": verb}).json()["results"]
    return entry["data"]


def day_of(session: Session) -> str:
    return timezone.localdate(session.date_start).isoformat()


def moved_by(session: Session, by, delta: timedelta) -> Session:
    """Move one occurrence as a single-session edit does (its date may change)."""
    return session_update(
        session=session,
        by=by,
        date_start=session.date_start + delta,
        date_end=session.date_end + delta,
    )


def rule_days(first: date, count: int) -> list[date]:
    """The Mondays and Wednesdays `weekly()` lays out from `first`."""
    return occurrence_dates(
        weekdays=[1, 3],
        first_date=first,
        until_date=None,
        count=count,
        skipped_dates=set(),
        limit=50,
    )


@pytest.fixture
def another_writer_first(monkeypatch: pytest.MonkeyPatch) -> Callable[[Callable[[], None]], None]:
    """`another_writer_first(write)`: `write()` runs after a scoped change read its
    occurrences and before it locks them, as another request committing in between
    would (deterministic, so it runs on SQLite too)."""

    def install(write: Callable[[], None]) -> None:
        lock = series_services._lock_sessions

        def late_lock(ids):
            write()
            return lock(ids)

        monkeypatch.setattr(series_services, "_lock_sessions", late_lock)

    return install


# Which occurrences a scope reaches, in what order


def test_this_and_following_need_an_occurrence_of_this_series(token_client):
    semester = SemesterFactory()
    series = weekly(semester, StaffFactory())
    elsewhere = weekly(semester, StaffFactory(), first_date=timezone.localdate() + timedelta(60))
    client = token_client(semester.master_instructor)
    needed = {"occurrence": ["An occurrence of this series is needed."]}

    missing = edit(client, series, scope="following", title="Footwork II")
    foreign = cancel(client, series, scope="this", occurrence=occurrences_of(elsewhere)[0].pk)

    assert (missing.status_code, missing.json()) == (400, needed)
    assert (foreign.status_code, foreign.json()) == (400, needed)
    assert not Session.objects.filter(status="cancelled").exists()


def test_a_scope_takes_its_occurrences_in_date_order_whatever_their_ids(token_client):
    """The first occurrence (lowest id) was moved past the last one: previews and results
    list occurrences by date, so the lowest id comes last."""
    semester = SemesterFactory()
    client = token_client(semester.master_instructor)
    series = weekly(semester, semester.master_instructor)
    occurrences = occurrences_of(series)
    moved_by(occurrences[0], semester.master_instructor, timedelta(weeks=4))
    by_date = [s.pk for s in occurrences[1:]] + [occurrences[0].pk]

    preview = edit(client, series, scope="all", title="Footwork II", dry_run=True)
    cancelled = cancel(client, series, scope="following", occurrence=occurrences[3].pk)

    assert preview.json()["changed"] == by_date
    assert cancelled.json()["sessions"] == by_date[2:]


@pytest.mark.parametrize("count", [2, 6])
def test_a_dry_run_costs_the_same_statements_for_any_number_of_occurrences(
    token_client, count, django_assert_num_queries
):
    semester = SemesterFactory()
    series = weekly(semester, semester.master_instructor, count=count)
    client = token_client(semester.master_instructor)
    body = {"scope": "all", "location": "Court 9", "dry_run": True}

    # 1 token with its user, 2 the series with its semester and its occurrences,
    # 1 the occurrences in scope with their semester, 1 the conflict check of them all,
    # 1 the students told.
    with django_assert_num_queries(6):
        response = client.patch(f"{SERIES}{series.pk}/", body, format="json")

    assert len(response.json()["changed"]) == count


# A refusal names its date


def test_a_conflict_on_one_date_is_the_single_sessions_409_prefixed_with_its_date(
    token_client,
):
    semester = SemesterFactory()
    series = weekly(semester, semester.master_instructor)
    target = occurrences_of(series)[4]
    SessionFactory(
        semester=semester,
        instructor=series.instructor,
        date_start=target.date_start + timedelta(hours=2),
        date_end=target.date_start + timedelta(hours=3),
        location="Elsewhere",
    )
    client = token_client(semester.master_instructor)
    at_eight = target.date_start + timedelta(hours=2)
    single = client.patch(
        f"/api/v1/sessions/{target.pk}/",
        {
            "date_start": at_eight.isoformat(),
            "date_end": (at_eight + timedelta(hours=1)).isoformat(),
        },
        format="json",
    )

    refused = edit(client, series, scope="all", start_time="20:00")

    assert single.status_code == refused.status_code == 409
    assert refused.json() == {
        **single.json(),
        "detail": f"{day_of(target)}: {single.json()['detail']}",
    }
    assert single.json()["conflicts"]  # the conflicting session comes along, named
    assert {timezone.localtime(s.date_start).time() for s in series.occurrences.all()} == {
        time(18, 0)
    }


def test_a_date_breaking_a_session_rule_is_a_400_naming_it_under_the_field(token_client):
    semester = SemesterFactory()
    series = weekly(semester, semester.master_instructor)
    last = occurrences_of(series)[-1]
    semester.end_date = timezone.localdate(last.date_start)
    semester.save()
    client = token_client(semester.master_instructor)

    # 23:30 for an hour ends the next day: past the semester for the last occurrence only.
    refused = edit(client, series, scope="all", start_time="23:30")

    assert refused.status_code == 400
    assert refused.json() == {
        "date_end": [
            f"{day_of(last)}: The session must end within semester {semester.code} "
            f"({semester.start_date} to {semester.end_date})."
        ]
    }
    assert {timezone.localtime(s.date_start).time() for s in series.occurrences.all()} == {
        time(18, 0)
    }


def test_a_start_time_the_clocks_skip_is_refused_naming_the_date(token_client, settings):
    """02:30 does not exist in Berlin on Sunday 28 March 2027. The preview lists that date
    and goes on to the next ones (a conflict on 4 April), in date order; the edit is 400."""
    settings.TIME_ZONE = "Europe/Berlin"
    semester = SemesterFactory(start_date=date(2027, 3, 1), end_date=date(2027, 4, 30))
    series = weekly(
        semester,
        semester.master_instructor,
        weekdays=[SUNDAY],
        first_date=date(2027, 3, 21),
        count=3,
    )
    ids = [s.pk for s in occurrences_of(series)]
    berlin = timezone.get_default_timezone()
    busy_from = datetime(2027, 4, 4, 2, 0, tzinfo=berlin)
    busy = SessionFactory(
        semester=semester,
        instructor=series.instructor,
        date_start=busy_from,
        date_end=busy_from + timedelta(hours=2),
        location="Elsewhere",
    )
    client = token_client(semester.master_instructor)
    skipped = "2027-03-28: 02:30 does not exist in Europe/Berlin that day (the clocks skip it)."

    preview = edit(client, series, scope="all", start_time="02:30", dry_run=True)
    refused = edit(client, series, scope="all", start_time="02:30")

    body = preview.json()
    assert body["changed"] == [ids[0], ids[2]]
    assert [(p["date"], p["code"]) for p in body["problems"]] == [
        ("2027-03-28", "invalid"),
        ("2027-04-04", "instructor_busy"),
    ]
    assert body["problems"][0] == {
        "date": "2027-03-28",
        "code": "invalid",
        "detail": skipped,
        "conflicts": [],
    }
    assert [c["id"] for c in body["problems"][1]["conflicts"]] == [busy.pk]
    assert body["problems"][1]["detail"].startswith("2027-04-04: The instructor teaches")
    assert (refused.status_code, refused.json()) == (400, {"start_time": [skipped]})


def test_a_scope_cancelled_under_a_concurrent_cancel_is_a_409_naming_the_date(
    token_client, funded_student, another_writer_first
):
    semester = SemesterFactory()
    series = weekly(semester, semester.master_instructor)
    occurrences = occurrences_of(series)
    student = funded_student(10)
    booking = book_session(student=student, session=occurrences[1], by=student)
    gone = occurrences[3]
    another_writer_first(
        lambda: Session.objects.filter(pk=gone.pk).update(status=Session.Status.CANCELLED)
    )

    refused = cancel(token_client(semester.master_instructor), series, scope="all")

    assert refused.status_code == 409
    assert refused.json() == {
        "detail": f"{day_of(gone)}: The session is already cancelled.",
        "code": "session_cancelled",
    }
    booking.refresh_from_db()
    assert booking.status == "confirmed"
    assert not CreditTransaction.objects.filter(kind="refund").exists()


# What the edit takes, and what it records


def test_the_fields_a_scoped_edit_takes_and_their_messages(token_client):
    semester = SemesterFactory()
    series = weekly(semester, semester.master_instructor)
    client = token_client(semester.master_instructor)

    rule_for_all = edit(client, series, scope="all", weekdays=[2])
    too_short = edit(client, series, scope="all", duration_minutes=0)
    too_long = edit(client, series, scope="all", duration_minutes=24 * 60 + 1)
    shortest = edit(client, series, scope="all", duration_minutes=1, dry_run=True)
    longest = edit(client, series, scope="all", duration_minutes=24 * 60, dry_run=True)

    assert (rule_for_all.status_code, rule_for_all.json()) == (
        400,
        {"scope": ["A new rule (weekdays, end, skipped dates) applies to “following” only."]},
    )
    between = {"duration_minutes": ["Between 1 and 1440 minutes."]}
    assert (too_short.status_code, too_short.json()) == (400, between)
    assert (too_long.status_code, too_long.json()) == (400, between)
    assert shortest.status_code == longest.status_code == 200
    assert len(longest.json()["moved"]) == 6


def test_fields_no_scoped_edit_takes_are_refused_by_name():
    """The API's serializer already refuses them; the service guards its other callers."""
    staff = StaffFactory()
    series = weekly(SemesterFactory(), staff)

    with pytest.raises(ValidationError) as refused:
        series_services.series_update(
            series=series, by=staff, scope="all", first_date=date(2028, 1, 3), semester=None
        )

    message = ["This field cannot be changed on a series."]
    assert refused.value.message_dict == {"first_date": message, "semester": message}


def test_a_new_time_and_length_for_all_are_recorded_as_sent(token_client):
    staff = StaffFactory()
    series = weekly(SemesterFactory(), staff)
    client = token_client(staff)

    response = edit(
        client, series, scope="all", title="Late footwork", start_time="19:30", duration_minutes=90
    )

    assert response.status_code == 200
    ids = [s.pk for s in occurrences_of(series)]
    for occurrence in occurrences_of(series):
        assert timezone.localtime(occurrence.date_start).time() == time(19, 30)
        assert occurrence.date_end - occurrence.date_start == timedelta(minutes=90)
    assert logged(client, "series.updated") == {
        "scope": "all",
        "sessions": ids,
        "changes": {"title": "Late footwork", "start_time": "19:30:00", "duration_minutes": 90},
    }


def test_a_new_length_alone_moves_each_end_and_keeps_each_start(token_client):
    staff = StaffFactory()
    series = weekly(SemesterFactory(), staff)
    starts = [s.date_start for s in occurrences_of(series)]
    client = token_client(staff)

    response = edit(client, series, scope="all", duration_minutes=45)

    assert response.status_code == 200
    occurrences = occurrences_of(series)
    assert [s.date_start for s in occurrences] == starts
    assert {s.date_end - s.date_start for s in occurrences} == {timedelta(minutes=45)}
    assert logged(client, "series.updated")["changes"] == {"duration_minutes": 45}


def test_a_new_instructor_for_this_one_is_recorded_by_id(token_client):
    staff = StaffFactory()
    series = weekly(SemesterFactory(), staff)
    chosen = occurrences_of(series)[2]
    substitute = InstructorFactory()
    client = token_client(staff)

    response = edit(client, series, scope="this", occurrence=chosen.pk, instructor=substitute.pk)

    assert response.status_code == 200
    chosen.refresh_from_db()
    assert chosen.instructor == substitute
    assert logged(client, "series.updated") == {
        "scope": "this",
        "sessions": [chosen.pk],
        "changes": {"instructor": substitute.pk},
    }


def test_a_new_rule_with_a_new_time_and_length_previews_and_applies_both(token_client):
    semester = SemesterFactory()
    series = weekly(semester, semester.master_instructor)
    occurrences = occurrences_of(series)
    client = token_client(semester.master_instructor)
    change = {
        "scope": "following",
        "occurrence": occurrences[2].pk,
        "weekdays": [5],
        "start_time": "19:00",
        "duration_minutes": 90,
    }

    preview = edit(client, series, **change, dry_run=True)
    applied = edit(client, series, **change)

    moved = preview.json()["moved"]
    assert [m["id"] for m in moved] == [s.pk for s in occurrences[2:]]
    for planned in moved:
        start = datetime.fromisoformat(planned["date_start"])
        assert timezone.localtime(start).time() == time(19, 0)
        assert datetime.fromisoformat(planned["date_end"]) - start == timedelta(minutes=90)
    assert applied.status_code == 200
    for occurrence in occurrences_of(series)[:2]:
        assert occurrence.date_end - occurrence.date_start == timedelta(minutes=60)
    for pk in [s.pk for s in occurrences[2:]]:
        session = Session.objects.get(pk=pk)
        assert timezone.localtime(session.date_start).time() == time(19, 0)
        assert session.date_end - session.date_start == timedelta(minutes=90)


# What a dry run counts


@pytest.fixture
def booked_series(funded_student):
    """Six occurrences from tomorrow (2 credits each) and who is on them: `twice` holds
    seats on the second and third, `once` on the third, `waiting` waits on the second
    (one seat), `gone` cancelled their booking on the fourth."""
    semester = SemesterFactory()
    series = weekly(semester, semester.master_instructor)
    occurrences = occurrences_of(series)
    twice, once, waiting, gone = (funded_student(10) for _ in range(4))
    for student, session in [(twice, 1), (twice, 2), (once, 2), (gone, 3)]:
        book_session(student=student, session=occurrences[session], by=student)
    session_update(session=occurrences[1], by=semester.master_instructor, capacity=1)
    book_session(student=waiting, session=occurrences[1], by=waiting)
    left = Booking.objects.get(student=gone)
    cancel_booking(booking=left, by=gone)
    return series


@pytest.mark.parametrize(
    ("change", "told"),
    [
        pytest.param({"title": "Footwork II"}, 0, id="a-title-tells-nobody"),
        pytest.param({"location": "Court 9"}, 3, id="a-place"),
        pytest.param({"start_time": "19:00"}, 3, id="a-time"),
        pytest.param({"duration_minutes": 90}, 3, id="a-length"),
    ],
)
def test_an_edit_preview_counts_each_booked_or_waiting_student_once(
    token_client, booked_series, change, told
):
    occurrences = occurrences_of(booked_series)
    client = token_client(booked_series.semester.master_instructor)
    scope = {"scope": "following", "occurrence": occurrences[1].pk}

    preview = edit(client, booked_series, **scope, **change, dry_run=True)

    body = preview.json()
    assert body["scope"] == "following"
    assert body["changed"] == [s.pk for s in occurrences[1:]]
    assert (body["students_told"], body["students_refunded"], body["credits_refunded"]) == (
        told,
        0,
        0,
    )


def test_a_cancel_preview_counts_the_refunds_cancel_gives_then_nothing_is_left(
    token_client, booked_series, funded_student
):
    """Refunded: every confirmed booking that was paid for, each student once; the free
    seat's and the waiting student are told, not refunded; a cancelled booking neither."""
    occurrences = occurrences_of(booked_series)
    master = booked_series.semester.master_instructor
    session_update(session=occurrences[4], by=master, credit_cost=1)
    session_update(session=occurrences[5], by=master, credit_cost=0)
    cheap, free = funded_student(10), funded_student(10)
    book_session(student=cheap, session=occurrences[4], by=cheap)
    book_session(student=free, session=occurrences[5], by=free)
    client = token_client(StaffFactory())

    preview = cancel(client, booked_series, scope="all", dry_run=True)
    done = cancel(client, booked_series, scope="all")
    again = cancel(client, booked_series, scope="all", dry_run=True)

    ids = [s.pk for s in occurrences]
    assert preview.json() == {
        "scope": "all",
        "changed": [],
        "moved": [],
        "created": [],
        "cancelled": ids,
        "problems": [],
        # twice, once, waiting, cheap, free
        "students_told": 5,
        # twice (2 + 2), once (2), cheap (1)
        "students_refunded": 3,
        "credits_refunded": 7,
    }
    assert done.json()["credits_refunded"] == 7
    assert logged(client, "series.cancelled") == {
        "scope": "all",
        "sessions": ids,
        "credits_refunded": 7,
    }
    assert again.json() == {
        "scope": "all",
        "changed": [],
        "moved": [],
        "created": [],
        "cancelled": [],
        "problems": [],
        "students_told": 0,
        "students_refunded": 0,
        "credits_refunded": 0,
    }


# The problems a preview lists


def test_a_preview_lists_every_date_breaking_a_rule_with_all_its_messages(token_client):
    semester = SemesterFactory()
    series = weekly(semester, semester.master_instructor)
    client = token_client(semester.master_instructor)

    preview = edit(
        client,
        series,
        scope="all",
        capacity=0,
        meeting_link="https://meet.example.test/room",
        dry_run=True,
    )

    problems = preview.json()["problems"]
    days = [day_of(s) for s in occurrences_of(series)]
    assert [p["date"] for p in problems] == days
    assert [p["detail"] for p in problems] == [
        f"{day}: Capacity must be at least 1. A meeting link is only allowed for virtual sessions."
        for day in days
    ]


def test_a_preview_refuses_a_time_already_passed_from_the_instant_itself(token_client, clock):
    """The clock stands at noon on the first occurrence's day: noon has passed (a start
    at this very instant has started), the later dates are still checked (a conflict)."""
    now = datetime(2027, 3, 10, 12, 0, tzinfo=UTC)
    clock(now)
    semester = SemesterFactory(start_date=date(2027, 3, 1), end_date=date(2027, 4, 30))
    series = weekly(semester, semester.master_instructor, first_date=now.date())
    occurrences = occurrences_of(series)
    noon = occurrences[2].date_start.replace(hour=12)
    SessionFactory(
        semester=semester,
        instructor=series.instructor,
        date_start=noon,
        date_end=noon + timedelta(hours=1),
        location="Elsewhere",
    )
    client = token_client(semester.master_instructor)

    preview = edit(client, series, scope="all", start_time="12:00", dry_run=True)

    problems = preview.json()["problems"]
    assert problems[0] == {
        "date": "2027-03-10",
        "code": "invalid",
        "detail": "2027-03-10: this time has already passed.",
        "conflicts": [],
    }
    assert [(p["date"], p["code"]) for p in problems[1:]] == [
        (day_of(occurrences[2]), "instructor_busy")
    ]


def test_a_new_rule_may_move_an_occurrence_onto_one_it_cancels(token_client):
    """Wednesdays only, one date, from the third occurrence (a Monday): it moves onto the
    fourth's slot, which the new rule leaves over and cancels; no conflict with it."""
    semester = SemesterFactory()
    series = weekly(semester, semester.master_instructor)
    occurrences = occurrences_of(series)
    client = token_client(semester.master_instructor)
    change = {"scope": "following", "occurrence": occurrences[2].pk, "weekdays": [3], "count": 1}

    preview = edit(client, series, **change, dry_run=True)

    body = preview.json()
    assert body["problems"] == []
    (moved,) = body["moved"]
    assert moved["id"] == occurrences[2].pk
    assert datetime.fromisoformat(moved["date_start"]) == occurrences[3].date_start
    assert datetime.fromisoformat(moved["date_end"]) == occurrences[3].date_end
    assert body["cancelled"] == [s.pk for s in occurrences[3:]]


# Where a split cuts the series' rule


def split_at(client, series: SessionSeries, occurrence: Session) -> tuple[dict, dict]:
    """A new time for `occurrence` and the following ones: (the original, the new series)."""
    response = edit(client, series, scope="following", occurrence=occurrence.pk, start_time="19:00")
    assert response.status_code == 200
    return read(client, series.pk), response.json()["series"]


def test_a_split_of_two_leaves_one_occurrence_on_each_side(token_client):
    semester = SemesterFactory()
    series = weekly(semester, semester.master_instructor, count=2)
    client = token_client(semester.master_instructor)

    original, later = split_at(client, series, occurrences_of(series)[1])

    assert (original["count"], later["count"]) == (1, 1)
    assert later["split_from"] == series.pk


def test_a_split_counts_only_the_rules_own_dates_before_it(token_client):
    """The last of three was moved two weeks on: the original keeps its count of three,
    not the six rule days that now lie before the moved one, and one is left to it."""
    semester = SemesterFactory()
    master = semester.master_instructor
    series = weekly(semester, master, count=3)
    last = moved_by(occurrences_of(series)[2], master, timedelta(weeks=2))
    client = token_client(master)

    original, later = split_at(client, series, last)

    assert (original["count"], later["count"]) == (3, 1)


def test_a_split_on_a_skipped_date_gives_the_skip_to_the_new_series(token_client):
    """The second rule day is skipped, and the next occurrence was moved onto it: the
    new series starts that day, so the skip (a date on or after its start) is its own."""
    semester = SemesterFactory()
    master = semester.master_instructor
    _, skipped, third = rule_days(timezone.localdate() + timedelta(days=1), 3)
    series = weekly(semester, master, skipped_dates=[skipped])
    onto_the_skip = moved_by(occurrences_of(series)[1], master, skipped - third)
    client = token_client(master)

    original, later = split_at(client, series, onto_the_skip)

    assert (original["skipped_dates"], later["skipped_dates"]) == ([], [skipped.isoformat()])
    assert (original["count"], later["count"]) == (1, 5)
    assert later["first_date"] == skipped.isoformat()


def test_a_following_edit_from_the_rules_first_day_keeps_one_series(token_client):
    """An occurrence was moved to the day before the rule's first one; a new time from the
    first rule day on has nothing earlier on the rule to cut off: one series changes."""
    semester = SemesterFactory()
    master = semester.master_instructor
    monday = timezone.localdate() + timedelta(days=14)
    monday -= timedelta(days=monday.weekday())
    series = weekly(semester, master, first_date=monday)
    occurrences = occurrences_of(series)
    to_the_sunday = timezone.localdate(occurrences[1].date_start) - (monday - timedelta(days=1))
    moved_by(occurrences[1], master, -to_the_sunday)
    client = token_client(master)

    response = edit(
        client, series, scope="following", occurrence=occurrences[0].pk, start_time="19:00"
    )

    assert response.json()["series"]["id"] == series.pk
    assert SessionSeries.objects.count() == 1


def test_a_split_keeps_what_another_writer_saved_on_the_original(
    token_client, another_writer_first
):
    """The split writes only the original's rule: a title saved meanwhile stays."""
    semester = SemesterFactory()
    series = weekly(semester, semester.master_instructor)
    another_writer_first(
        lambda: SessionSeries.objects.filter(pk=series.pk).update(title="Renamed meanwhile")
    )
    client = token_client(semester.master_instructor)

    original, later = split_at(client, series, occurrences_of(series)[2])

    assert original["title"] == later["title"] == "Renamed meanwhile"
    assert original["count"] == 2


def test_occurrences_that_start_together_are_taken_in_the_order_they_were_made(token_client):
    """A single-session edit gave the first occurrence a substitute, another room and the
    second one's start. Ties on the start break on the id: PostgreSQL wrote the edited
    row's new version, and its index entry, after the second's, so a read in storage or
    index order would take it second without the tie-break. The series reads them so
    too, before the cancellation writes both rows again."""
    semester = SemesterFactory()
    series = weekly(semester, semester.master_instructor, count=2)
    first, second = occurrences_of(series)
    session_update(
        session=first,
        by=StaffFactory(),
        instructor=InstructorFactory(),
        location="Court 9",
        date_start=second.date_start,
        date_end=second.date_end,
    )
    client = token_client(semester.master_instructor)

    listed = read(client, series.pk)["occurrences"]
    cancelled = cancel(client, series, scope="all")

    assert [o["id"] for o in listed] == [first.pk, second.pk]
    assert cancelled.json()["sessions"] == [first.pk, second.pk]
