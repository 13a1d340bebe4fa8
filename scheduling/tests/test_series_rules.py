"""A series' rule, field by field, with the exact words each refusal answers; the bounds
each rule accepts; how problems are dated, ordered and turned into 400 or 409; what a
created series records; the "Repeat" times taken from a page in another zone; and who
may open a series. Mostly through `/api/v1/series/` and the instructor pages: the
service is called directly only for what no surface can send."""

from datetime import date, datetime, time, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import InstructorFactory, StaffFactory
from activity.models import Activity
from instructor.tests.test_pages import create_payload, login
from scheduling.models import Session, SessionSeries
from scheduling.series import series_create, series_plan, series_with_occurrences
from scheduling.tests.factories import SemesterFactory, SessionFactory, SpecializationFactory

pytestmark = pytest.mark.django_db

LIST = "/api/v1/series/"
TUESDAY, SUNDAY = 2, 7
WEEKDAYS = "One or more distinct ISO weekdays, 1 (Monday) to 7 (Sunday)."


def spring_2027(**fields):
    """March to June 2027: far ahead, so every date below is in the future."""
    return SemesterFactory(start_date=date(2027, 3, 1), end_date=date(2027, 6, 30), **fields)


def payload(semester, **fields) -> dict:
    """Tuesdays at 18:00 for 90 minutes from 2 March 2027, three times unless told."""
    return {
        "semester": semester.pk,
        "title": "Evening technique",
        "instructor": semester.master_instructor.pk,
        "weekdays": [TUESDAY],
        "start_time": "18:00",
        "duration_minutes": 90,
        "first_date": "2027-03-02",
        "count": 3,
        **fields,
    }


def rule(semester, **fields) -> dict:
    """`payload` as the service's keyword arguments."""
    values = {
        **payload(semester),
        "instructor": semester.master_instructor,
        "start_time": time(18, 0),
        "first_date": date(2027, 3, 2),
        **fields,
    }
    del values["semester"]
    return values


# --- The rule's own fields --------------------------------------------------------------


@pytest.mark.parametrize(
    "fields, errors",
    [
        ({"weekdays": [2, 2]}, {"weekdays": [WEEKDAYS]}),
        (
            {"until_date": "2027-03-30"},
            {"until_date": ["Give either an end date or a number of occurrences, not both."]},
        ),
        ({"count": 0}, {"count": ["Between 1 and 400 occurrences."]}),
        ({"count": 401}, {"count": ["Between 1 and 400 occurrences."]}),
        (
            {"count": None, "until_date": "2027-03-01"},
            {"until_date": ["The series cannot end before its first date."]},
        ),
        ({"duration_minutes": 0}, {"duration_minutes": ["Between 1 and 1440 minutes."]}),
        ({"duration_minutes": 1441}, {"duration_minutes": ["Between 1 and 1440 minutes."]}),
        # Its one Tuesday skipped: a well-formed rule that gives no date.
        (
            {"count": None, "until_date": "2027-03-08", "skipped_dates": ["2027-03-02"]},
            {"weekdays": ["The rule gives no date at all."]},
        ),
    ],
)
@pytest.mark.parametrize("dry_run", [True, False])
def test_a_malformed_rule_is_a_400_saying_what_is_wrong_with_the_field(
    token_client, fields, errors, dry_run
):
    semester = spring_2027()
    client = token_client(semester.master_instructor)

    response = client.post(LIST, payload(semester, dry_run=dry_run, **fields), format="json")

    assert (response.status_code, response.json()) == (400, errors)
    assert not SessionSeries.objects.exists()


@pytest.mark.parametrize(
    "fields, errors",
    [
        # The API's and the page's fields only send weekdays 1 to 7, never none, and
        # skipped dates as dates: other callers of the service meet the same rule.
        ({"weekdays": []}, {"weekdays": [WEEKDAYS]}),
        ({"weekdays": [0]}, {"weekdays": [WEEKDAYS]}),
        ({"weekdays": [8]}, {"weekdays": [WEEKDAYS]}),
        ({"weekdays": (2, 4)}, {"weekdays": [WEEKDAYS]}),
        ({"skipped_dates": ["2027-03-09"]}, {"skipped_dates": ["A list of dates."]}),
        ({"skipped_dates": date(2027, 3, 9)}, {"skipped_dates": ["A list of dates."]}),
    ],
)
def test_a_rule_no_form_can_send_is_refused_by_the_service_naming_the_field(fields, errors):
    semester = spring_2027()

    with pytest.raises(ValidationError) as refused:
        series_plan(by=StaffFactory(), semester=semester, **rule(semester, **fields))

    assert refused.value.message_dict == errors


def test_an_unknown_field_is_a_programming_error_naming_it():
    semester = spring_2027()

    with pytest.raises(TypeError) as refused:
        series_plan(by=StaffFactory(), semester=semester, **rule(semester, colour="red"))

    assert str(refused.value) == "Unknown series fields: ['colour']"


@pytest.mark.parametrize(
    "fields, dates",
    [
        ({"count": 1}, ["2027-03-02"]),
        # SERIES_MAX_OCCURRENCES is 4 here: a count of exactly the limit is allowed.
        ({"count": 4}, ["2027-03-02", "2027-03-09", "2027-03-16", "2027-03-23"]),
        ({"count": None, "until_date": "2027-03-02"}, ["2027-03-02"]),
        ({"count": 1, "duration_minutes": 1}, ["2027-03-02"]),
    ],
)
def test_a_rule_at_each_bound_is_accepted(token_client, settings, fields, dates):
    settings.SERIES_MAX_OCCURRENCES = 4
    semester = spring_2027()
    client = token_client(semester.master_instructor)

    preview = client.post(LIST, payload(semester, dry_run=True, **fields), format="json")
    created = client.post(LIST, payload(semester, **fields), format="json")

    assert preview.status_code == 200 and preview.json()["problems"] == []
    assert [o["date_start"][:10] for o in preview.json()["occurrences"]] == dates
    assert created.status_code == 201
    assert [o["date_start"][:10] for o in created.json()["occurrences"]] == dates


# --- What each occurrence takes from the series ------------------------------------------


def test_a_series_keeps_the_location_it_was_given_and_who_created_it(token_client):
    semester = spring_2027()
    master = semester.master_instructor

    response = token_client(master).post(LIST, payload(semester, location="Court 9"), format="json")

    assert response.status_code == 201
    series = SessionSeries.objects.get(pk=response.json()["id"])
    assert (series.location, series.created_by) == ("Court 9", master)
    assert set(series.occurrences.values_list("location", flat=True)) == {"Court 9"}


# --- Problems: dated, ordered, and refused as 400 or 409 ---------------------------------


def test_when_no_date_is_valid_each_date_is_named_with_all_its_reasons(token_client):
    """A capacity of 0 breaks every date; the first date, before the semester, breaks
    two rules, both named."""
    semester = spring_2027()
    client = token_client(semester.master_instructor)
    fields = {"capacity": 0, "first_date": "2027-02-23", "count": 2}

    preview = client.post(LIST, payload(semester, dry_run=True, **fields), format="json")
    refused = client.post(LIST, payload(semester, **fields), format="json")

    capacity = "Capacity must be at least 1."
    outside = f"The session must start within semester {semester.code} (2027-03-01 to 2027-06-30)."
    reasons = [f"2027-02-23: {capacity} {outside}", f"2027-03-02: {capacity}"]
    assert preview.status_code == 200 and preview.json()["occurrences"] == []
    assert [(p["date"], p["code"], p["detail"]) for p in preview.json()["problems"]] == [
        ("2027-02-23", "invalid", reasons[0]),
        ("2027-03-02", "invalid", reasons[1]),
    ]
    assert (refused.status_code, refused.json()) == (400, {"occurrences": reasons})
    assert not SessionSeries.objects.exists()


def test_an_unqualified_instructor_is_refused_even_when_no_date_is_valid(token_client):
    """The qualification is a rule of the series' template, not of a date: checked even
    when every date is outside the semester."""
    semester = spring_2027()
    master = semester.master_instructor
    specialization = SpecializationFactory(code="SPEC_SERVE", name="Serve")
    fields = {"target_specialization": "SPEC_SERVE", "first_date": "2027-08-03"}

    response = token_client(master).post(LIST, payload(semester, **fields), format="json")

    assert (response.status_code, response.json()) == (
        403,
        {
            "detail": f"{master} holds no active qualification for {specialization}.",
            "code": "not_qualified",
        },
    )


def test_a_wall_clock_problem_names_its_date_and_the_dates_after_it_are_still_planned(
    token_client, settings
):
    """02:30 does not exist in Berlin on Sunday 28 March 2027 (the clocks skip it)."""
    settings.TIME_ZONE = "Europe/Berlin"
    semester = spring_2027()
    fields = {"weekdays": [SUNDAY], "start_time": "02:30", "first_date": "2027-03-21"}

    response = token_client(semester.master_instructor).post(
        LIST, payload(semester, dry_run=True, **fields), format="json"
    )

    assert response.status_code == 200
    body = response.json()
    assert [o["date_start"][:10] for o in body["occurrences"]] == ["2027-03-21", "2027-04-04"]
    assert body["problems"] == [
        {
            "date": "2027-03-28",
            "code": "invalid",
            "detail": "2027-03-28: 02:30 does not exist in Europe/Berlin that day "
            "(the clocks skip it).",
            "conflicts": [],
        }
    ]


def at(day: date, hour: int, minutes: int = 0) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour, minutes)))


def test_the_preview_lists_conflicts_and_invalid_dates_in_date_order(token_client):
    """The invalid dates are found first and the conflicts after; the preview still
    answers them by date."""
    semester = SemesterFactory(start_date=date(2027, 3, 1), end_date=date(2027, 3, 20))
    busy = SessionFactory(
        semester=semester,
        instructor=semester.master_instructor,
        date_start=at(date(2027, 3, 9), 18),
        date_end=at(date(2027, 3, 9), 19),
    )

    response = token_client(semester.master_instructor).post(
        LIST, payload(semester, dry_run=True, count=4), format="json"
    )

    problems = response.json()["problems"]
    assert [(p["date"], p["code"]) for p in problems] == [
        ("2027-03-09", "instructor_busy"),
        ("2027-03-23", "invalid"),
    ]
    assert [c["id"] for c in problems[0]["conflicts"]] == [busy.pk]


def test_a_series_refused_for_its_room_alone_is_location_busy_naming_every_date(token_client):
    semester = spring_2027()
    client = token_client(semester.master_instructor)
    for day in (date(2027, 3, 9), date(2027, 3, 16)):
        SessionFactory(
            semester=semester,
            instructor=InstructorFactory(),
            location=semester.location,
            date_start=at(day, 18, 30),
            date_end=at(day, 19, 30),
        )
    before = Session.objects.count()

    response = client.post(LIST, payload(semester), format="json")

    assert response.status_code == 409
    body = response.json()
    assert (body["code"], body["detail"]) == (
        "location_busy",
        "The series conflicts with other sessions on 2027-03-09, 2027-03-16.",
    )
    assert [p["date"] for p in body["problems"]] == ["2027-03-09", "2027-03-16"]
    assert Session.objects.count() == before and not SessionSeries.objects.exists()


# --- What a created series records -----------------------------------------------------


def test_creating_a_series_records_who_did_it_for_the_series_and_each_occurrence(token_client):
    semester = spring_2027()
    master = semester.master_instructor

    response = token_client(master).post(LIST, payload(semester), format="json")

    series = SessionSeries.objects.get(pk=response.json()["id"])
    occurrences = list(series.occurrences.order_by("date_start"))
    created = Activity.objects.get(verb="series.created")
    assert (created.actor, created.target_id) == (master, series.pk)
    assert created.data == {
        "title": "Evening technique",
        "occurrences": 3,
        "first": occurrences[0].date_start.isoformat().replace("+00:00", "Z"),
        "last": occurrences[2].date_start.isoformat().replace("+00:00", "Z"),
    }
    each = Activity.objects.filter(verb="session.created").order_by("session_id")
    assert [(a.actor, a.session_id, a.target_id, a.data) for a in each] == [
        (
            master,
            occurrence.pk,
            occurrence.pk,
            {
                "title": "Evening technique",
                "date_start": occurrence.date_start.isoformat().replace("+00:00", "Z"),
                "series_id": series.pk,
            },
        )
        for occurrence in occurrences
    ]


# --- "Repeat" on the session form: the rule's times --------------------------------------


CREATE = reverse("instructor:session-create")


def test_repeat_takes_the_academys_wall_clock_for_an_instructor_in_another_zone(client, settings):
    """The page reads 18:00 in the instructor's zone (Tokyo): 10:00 in Berlin that
    winter day. The rule's start time is the academy's 10:00, so every occurrence starts
    at 18:00 in Tokyo, not at 18:00 in Berlin."""
    settings.TIME_ZONE = "Europe/Berlin"
    semester = spring_2027()
    master = semester.master_instructor
    master.time_zone = "Asia/Tokyo"
    master.save(update_fields=["time_zone"])
    data = create_payload(
        semester, date_start="2027-03-02T18:00", date_end="2027-03-02T19:30", title="Footwork"
    )
    data.update({"repeat-weekdays": [str(TUESDAY)], "repeat-count": "2"})

    response = login(client, master).post(CREATE, data)

    assert response.status_code == 302
    series = SessionSeries.objects.get()
    assert (series.first_date, series.start_time, series.duration_minutes) == (
        date(2027, 3, 2),
        time(10, 0),
        90,
    )
    berlin = timezone.get_default_timezone()
    starts = [timezone.localtime(s.date_start, berlin) for s in series.occurrences.all()]
    assert [s.replace(tzinfo=None) for s in starts] == [
        datetime(2027, 3, 2, 10, 0),
        datetime(2027, 3, 9, 10, 0),
    ]


@pytest.mark.parametrize("typed", ["2027-03-02T18:00:30", "2027-03-02T18:00:00.250000"])
def test_repeat_starts_on_the_minute_whatever_seconds_were_typed(client, typed):
    semester = spring_2027()
    master = semester.master_instructor
    data = create_payload(semester, date_start=typed, date_end="2027-03-02T19:30", title="Footwork")
    data.update({"repeat-weekdays": [str(TUESDAY)], "repeat-count": "2"})

    response = login(client, master).post(CREATE, data)

    assert response.status_code == 302
    series = SessionSeries.objects.get()
    assert series.start_time == time(18, 0)
    assert {timezone.localtime(s.date_start).time() for s in series.occurrences.all()} == {
        time(18, 0)
    }


# --- Who may open a series -------------------------------------------------------------


def test_the_master_and_the_series_instructor_open_a_series_whose_dates_others_teach(client):
    """The semester's master runs it; the series' instructor stays its instructor when
    every occurrence is handed to a substitute; the substitute teaches it; a stranger
    gets a 404."""
    semester = spring_2027()
    master, lead, substitute = semester.master_instructor, InstructorFactory(), InstructorFactory()
    series = series_create(by=master, semester=semester, **rule(semester, instructor=lead))
    series.occurrences.update(instructor=substitute)
    page = reverse("instructor:series-detail", args=[series.pk])

    seen = {
        user: login(client, user).get(page).status_code
        for user in (master, lead, substitute, InstructorFactory())
    }

    assert list(seen.values()) == [200, 200, 200, 404]


def test_series_with_occurrences_lists_them_by_date_not_by_creation():
    """Only the copy's answer reads this today, right after the occurrences are made in
    date order; a series whose first occurrence was moved past its last shows the
    difference."""
    semester = spring_2027()
    series = series_create(by=StaffFactory(), semester=semester, **rule(semester))
    first, second, third = series.occurrences.order_by("pk")
    moved = at(date(2027, 3, 30), 18)
    Session.objects.filter(pk=first.pk).update(
        date_start=moved, date_end=moved + timedelta(minutes=90)
    )

    (listed,) = series_with_occurrences().filter(pk=series.pk)

    assert [s.pk for s in listed.occurrences.all()] == [second.pk, third.pk, first.pk]
