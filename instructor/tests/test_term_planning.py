"""The session form's "Repeat" section, its dates preview, the confirmations a save asks
for (a start in the past; a change booked students will be told about) and "Duplicate",
through Django's test client."""

from datetime import date, datetime, time, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import InstructorFactory
from activity.models import Activity
from bookings.tests.factories import BookingFactory
from instructor.tests.test_pages import create_payload, edit_payload, login, messages_of
from scheduling.models import Session, SessionSeries
from scheduling.tests.factories import SemesterFactory, SessionFactory

pytestmark = pytest.mark.django_db

CREATE = reverse("instructor:session-create")
PREVIEW = reverse("instructor:session-preview")
MONDAY, WEDNESDAY = 1, 3


@pytest.fixture
def semester():
    return SemesterFactory(location="Court 3, North campus")


@pytest.fixture
def master(semester):
    return semester.master_instructor


def next_monday() -> date:
    today = timezone.localdate()
    return today + timedelta(days=7 - today.weekday())


def repeating(semester, *, weekdays=(MONDAY, WEDNESDAY), **repeat) -> dict:
    """A Monday 18:00-19:30 session repeating on `weekdays`, four times unless told."""
    monday = next_monday().isoformat()
    payload = create_payload(
        semester, date_start=f"{monday}T18:00", date_end=f"{monday}T19:30", title="Footwork"
    )
    payload["repeat-weekdays"] = [str(day) for day in weekdays]
    payload["repeat-count"] = "4"
    payload.update({f"repeat-{name}": value for name, value in repeat.items()})
    return payload


# --- Repeat ----------------------------------------------------------------------------------


def test_preview_dates_lists_the_occurrences_and_writes_nothing(client, semester, master):
    response = login(client, master).post(CREATE, {**repeating(semester), "action": "preview"})

    assert response.status_code == 200
    preview = response.context["preview"]
    starts = [timezone.localtime(s.date_start) for s in preview["occurrences"]]
    assert [s.date() for s in starts] == [
        next_monday() + timedelta(days=offset) for offset in (0, 2, 7, 9)
    ]
    assert {s.time() for s in starts} == {time(18, 0)}
    assert preview["problems"] == []
    assert "4 sessions" in response.content.decode()
    assert not Session.objects.exists() and not SessionSeries.objects.exists()


def test_the_preview_fragment_names_each_problem_date_and_reason(client, semester, master):
    wednesday = next_monday() + timedelta(days=2)
    busy = SessionFactory(
        semester=semester,
        title="Match play",
        date_start=timezone.make_aware(timezone.datetime.combine(wednesday, time(19, 0))),
        date_end=timezone.make_aware(timezone.datetime.combine(wednesday, time(20, 0))),
    )

    response = login(client, master).post(PREVIEW, repeating(semester))

    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html  # a fragment, for the form's script
    assert "1 problem" in html and wednesday.isoformat() in html and busy.title in html
    assert Session.objects.count() == 1


def test_create_with_repeat_makes_a_series_through_the_series_service(client, semester, master):
    response = login(client, master).post(
        CREATE, repeating(semester, **{"skipped_dates": next_monday().isoformat()})
    )

    series = SessionSeries.objects.get()
    occurrences = list(series.occurrences.order_by("date_start"))
    assert response.status_code == 302
    assert response["Location"] == reverse("instructor:session-detail", args=[occurrences[0].pk])
    assert len(occurrences) == 4 and series.count == 4
    assert timezone.localdate(occurrences[0].date_start) == next_monday() + timedelta(days=2)
    assert (series.weekdays, series.start_time, series.duration_minutes) == (
        [MONDAY, WEDNESDAY],
        time(18, 0),
        90,
    )
    assert series.location == "Court 3, North campus"
    assert Activity.objects.filter(verb="series.created").count() == 1
    assert messages_of(response)[0].startswith("Series “Footwork” created: 4 sessions, from ")


def test_a_series_with_a_conflicting_date_is_refused_naming_it(client, semester, master):
    wednesday = next_monday() + timedelta(days=9)
    SessionFactory(
        semester=semester,
        title="Match play",
        date_start=timezone.make_aware(timezone.datetime.combine(wednesday, time(18, 30))),
        date_end=timezone.make_aware(timezone.datetime.combine(wednesday, time(19, 0))),
    )

    response = login(client, master).post(CREATE, repeating(semester))

    assert response.status_code == 200
    problems = response.context["problems"]
    assert [p["date"] for p in problems] == [wednesday.isoformat()]
    html = response.content.decode()
    assert wednesday.isoformat() in html and "Match play" in html
    assert not SessionSeries.objects.exists() and Session.objects.count() == 1


def test_a_series_past_the_semester_names_the_dates(client, master):
    semester = SemesterFactory(master_instructor=master, end_date=next_monday() + timedelta(3))

    response = login(client, master).post(CREATE, repeating(semester))

    errors = " ".join(response.context["form"].non_field_errors())
    later = [next_monday() + timedelta(days=offset) for offset in (7, 9)]
    assert all(day.isoformat() in errors for day in later)
    assert "within semester" in errors
    assert not Session.objects.exists()


@pytest.mark.parametrize(
    "repeat, field, text",
    [
        ({"count": "", "until_date": ""}, "until_date", "either an end date"),
        ({"skipped_dates": "soon"}, "skipped_dates", "Not a date"),
        ({"count": "0"}, "count", "greater than or equal to 1"),
    ],
)
def test_a_malformed_rule_is_shown_beside_its_field(client, semester, master, repeat, field, text):
    response = login(client, master).post(CREATE, repeating(semester, **repeat))

    assert response.status_code == 200
    assert text in " ".join(response.context["repeat"].errors[field])
    assert not Session.objects.exists()


def test_without_a_weekday_the_form_creates_one_session(client, semester, master):
    payload = repeating(semester, weekdays=())

    preview = login(client, master).post(PREVIEW, payload)
    response = client.post(CREATE, payload)

    assert "One session" in preview.content.decode()
    assert response.status_code == 302
    assert Session.objects.count() == 1 and not SessionSeries.objects.exists()


def test_the_form_loads_its_script_from_a_file(client, semester, master):
    html = login(client, master).get(CREATE).content.decode()

    assert f'data-preview-url="{PREVIEW}"' in html
    assert "js/session_form.js" in html and "<script>" not in html
    assert 'name="repeat-weekdays"' in html and "Preview dates" in html


# --- Confirmations -----------------------------------------------------------------------


def test_a_start_in_the_past_asks_first_then_saves_when_confirmed(client, master):
    semester = SemesterFactory(master_instructor=master)
    yesterday = (timezone.localdate() - timedelta(days=1)).isoformat()
    payload = create_payload(
        semester, date_start=f"{yesterday}T10:00", date_end=f"{yesterday}T11:00"
    )

    asked = login(client, master).post(CREATE, payload)
    confirmed = client.post(CREATE, {**payload, "confirm_past": "on"})

    assert asked.status_code == 200
    assert "starts in the past" in " ".join(asked.context["form"].errors["date_start"])
    assert "Yes, it starts in the past" in asked.content.decode()
    assert confirmed.status_code == 302
    assert Session.objects.count() == 1


def test_the_past_question_is_not_shown_for_a_future_start(client, semester, master):
    html = login(client, master).get(CREATE).content.decode()

    assert "Yes, it starts in the past" not in html


def test_moving_a_booked_session_warns_how_many_will_be_told(client, semester, master):
    session = SessionFactory(semester=semester)
    BookingFactory.create_batch(4, session=session)
    BookingFactory(session=session, status="waitlisted")
    BookingFactory(session=session, status="cancelled")
    url = reverse("instructor:session-update", args=[session.pk])
    payload = edit_payload(session, location="Court 9")

    warned = login(client, master).post(url, payload)
    session.refresh_from_db()
    assert session.location != "Court 9"
    saved = client.post(url, {**payload, "confirm_told": "on"})

    assert warned.status_code == 200
    errors = " ".join(warned.context["form"].non_field_errors())
    assert "5 students are booked and will be told" in errors
    assert "Yes, save and tell them" in warned.content.decode()
    assert saved.status_code == 302
    session.refresh_from_db()
    assert session.location == "Court 9"


def test_an_edit_nobody_is_told_about_saves_without_asking(client, semester, master):
    session = SessionFactory(semester=semester)
    BookingFactory.create_batch(2, session=session)
    url = reverse("instructor:session-update", args=[session.pk])

    response = login(client, master).post(url, edit_payload(session, title="Renamed"))

    assert response.status_code == 302
    session.refresh_from_db()
    assert session.title == "Renamed"


def test_moving_an_unbooked_session_saves_without_asking(client, semester, master):
    session = SessionFactory(semester=semester)
    start = session.date_start + timedelta(hours=3)
    url = reverse("instructor:session-update", args=[session.pk])
    moved = edit_payload(
        session,
        date_start=timezone.localtime(start).strftime("%Y-%m-%dT%H:%M"),
        date_end=timezone.localtime(start + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
    )

    response = login(client, master).post(url, moved)

    assert response.status_code == 302
    session.refresh_from_db()
    assert session.date_start == start


# --- Duplicate ---------------------------------------------------------------------------


def test_the_session_page_offers_duplicate_to_next_week(client, semester, master):
    session = SessionFactory(semester=semester)

    response = login(client, master).get(reverse("instructor:session-detail", args=[session.pk]))

    next_week = timezone.localdate(session.date_start) + timedelta(weeks=1)
    assert response.context["duplicate_form"]["day"].value() == next_week
    assert 'id="duplicate-form"' in response.content.decode()


def test_duplicate_copies_the_session_to_the_day_at_the_same_time(client, semester, master):
    session = SessionFactory(semester=semester, title="Serve drills", capacity=9)
    day = timezone.localdate(session.date_start) + timedelta(days=2)
    url = reverse("instructor:session-duplicate", args=[session.pk])

    response = login(client, master).post(url, {"day": day.isoformat()})

    copy = Session.objects.exclude(pk=session.pk).get()
    assert response.status_code == 302
    assert response["Location"] == reverse("instructor:session-detail", args=[copy.pk])
    assert timezone.localdate(copy.date_start) == day
    assert (
        timezone.localtime(copy.date_start).time() == timezone.localtime(session.date_start).time()
    )
    assert (copy.title, copy.capacity) == ("Serve drills", 9)
    assert "duplicated to" in messages_of(response)[0]


def test_duplicate_keeps_the_academys_wall_clock_for_an_instructor_in_another_zone(
    client, settings, master
):
    """The page runs in the instructor's zone (New York); the copy still starts at the
    session's time in the academy's zone (18:00 in Berlin), not at New York's 12:00."""
    settings.TIME_ZONE = "Europe/Berlin"
    master.time_zone = "America/New_York"
    master.save(update_fields=["time_zone"])
    semester = SemesterFactory(master_instructor=master)
    berlin = timezone.get_default_timezone()
    day = semester.start_date + timedelta(days=3)
    start = timezone.make_aware(datetime.combine(day, time(18, 0)), berlin)
    session = SessionFactory(
        semester=semester, instructor=master, date_start=start, date_end=start + timedelta(hours=1)
    )
    url = reverse("instructor:session-duplicate", args=[session.pk])

    login(client, master).post(url, {"day": (day + timedelta(days=1)).isoformat()})

    copy = Session.objects.exclude(pk=session.pk).get()
    assert timezone.localtime(copy.date_start, berlin).replace(tzinfo=None) == datetime.combine(
        day + timedelta(days=1), time(18, 0)
    )


def test_a_refused_duplicate_says_why_and_writes_nothing(client, semester, master):
    session = SessionFactory(semester=semester)
    url = reverse("instructor:session-duplicate", args=[session.pk])
    outside = semester.end_date + timedelta(days=7)

    response = login(client, master).post(url, {"day": outside.isoformat()})
    teacher = InstructorFactory()
    taught = SessionFactory(semester=semester, instructor=teacher)
    login(client, teacher)
    refused = client.post(
        reverse("instructor:session-duplicate", args=[taught.pk]), {"day": outside.isoformat()}
    )

    assert response.status_code == 302
    assert "Not duplicated" in messages_of(response)[0]
    assert "within semester" in messages_of(response)[0]
    assert refused.status_code == 403
    assert Session.objects.count() == 2
