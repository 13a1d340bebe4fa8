"""Calendar feeds, read back with the icalendar parser as a calendar app would."""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar

from accounts.tests.factories import InstructorFactory, StaffFactory, StudentFactory
from bookings.models import Booking
from bookings.services import cancel_booking, cancel_session, session_update
from bookings.tests.factories import BookingFactory
from calendars.models import CalendarToken
from calendars.services import calendar_token_for
from scheduling.models import Session
from scheduling.tests.factories import SemesterFactory, SessionFactory

pytestmark = pytest.mark.django_db


def feed_url(user) -> str:
    return reverse("calendar:feed", kwargs={"token": calendar_token_for(user=user).key})


def events_of(response) -> dict[str, dict]:
    """UID -> the event's properties, parsed from the response body."""
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    calendar = Calendar.from_ical(response.content)
    assert str(calendar["VERSION"]) == "2.0"
    events = {}
    for event in calendar.walk("VEVENT"):
        assert event.get("DTSTAMP") is not None  # required by RFC 5545
        events[str(event["UID"])] = event
    return events


def uid(session) -> str:
    return f"session-{session.pk}@127.0.0.1"


def test_a_student_sees_confirmed_and_waitlisted_sessions_and_nobody_elses(client):
    student, other = StudentFactory(), StudentFactory()
    confirmed = SessionFactory(session_type=Session.SessionType.VIRTUAL)
    waitlisted = SessionFactory(session_type=Session.SessionType.VIRTUAL)
    own_cancelled = SessionFactory()
    not_booked = SessionFactory()
    BookingFactory(student=student, session=confirmed)
    BookingFactory(student=student, session=waitlisted, status=Booking.Status.WAITLISTED)
    BookingFactory(student=student, session=own_cancelled, status=Booking.Status.CANCELLED)
    BookingFactory(student=other, session=not_booked)

    events = events_of(client.get(feed_url(student)))

    assert set(events) == {uid(confirmed), uid(waitlisted)}
    assert str(events[uid(confirmed)]["STATUS"]) == "CONFIRMED"
    assert str(events[uid(waitlisted)]["STATUS"]) == "TENTATIVE"
    # The link only for the confirmed seat (SPEC §4), nowhere in the waitlisted event.
    assert "Join: https://meet.example.test/room" in str(events[uid(confirmed)]["DESCRIPTION"])
    assert b"meet.example.test" not in events[uid(waitlisted)].to_ical()
    event = events[uid(confirmed)]
    assert event["DTSTART"].dt == confirmed.date_start.astimezone(UTC)
    assert event["DTEND"].dt == confirmed.date_end.astimezone(UTC)
    assert event["DTSTART"].to_ical().endswith(b"Z")  # in UTC, no VTIMEZONE needed
    assert str(event["SUMMARY"]) == confirmed.title
    assert str(event["LOCATION"]) == "Online"
    assert int(event["SEQUENCE"]) == 0
    assert str(event["URL"]).endswith(f"/api/v1/sessions/{confirmed.pk}/")
    assert events_of(client.get(feed_url(other))).keys() == {uid(not_booked)}


def test_an_instructor_sees_the_sessions_they_teach_or_manage(client):
    instructor = InstructorFactory()
    teaches = SessionFactory(session_type=Session.SessionType.VIRTUAL, instructor=instructor)
    manages = SessionFactory(semester=SemesterFactory(master_instructor=instructor))
    SessionFactory()  # someone else's
    staff = StaffFactory()

    events = events_of(client.get(feed_url(instructor)))

    assert set(events) == {uid(teaches), uid(manages)}
    assert "Join: https://meet.example.test/room" in str(events[uid(teaches)]["DESCRIPTION"])
    assert str(events[uid(teaches)]["URL"]).endswith(f"/sessions/{teaches.pk}/")
    assert str(events[uid(manages)]["LOCATION"]) == "Main campus, room 1"
    # Staff get their own sessions, not the whole academy's.
    assert events_of(client.get(feed_url(staff))) == {}


def next_dst_change(zone: ZoneInfo, after: datetime) -> datetime:
    """The first local midnight after `after` whose UTC offset differs from the day before."""
    day = after.date()
    for _ in range(400):
        today = datetime.combine(day, time(12), zone)
        tomorrow = datetime.combine(day + timedelta(days=1), time(12), zone)
        if today.utcoffset() != tomorrow.utcoffset():
            return datetime.combine(day + timedelta(days=1), time(0), zone)
        day += timedelta(days=1)
    raise AssertionError("No daylight-saving change within a year")


def test_a_session_moved_across_a_daylight_saving_change_keeps_its_instant(client, settings):
    settings.TIME_ZONE = "Europe/Berlin"
    berlin = ZoneInfo("Europe/Berlin")
    change = next_dst_change(berlin, timezone.now() + timedelta(days=3))
    before = datetime.combine(change.date() - timedelta(days=2), time(10), berlin)
    after = datetime.combine(change.date() + timedelta(days=2), time(10), berlin)
    assert before.utcoffset() != after.utcoffset()
    semester = SemesterFactory(
        start_date=before.date() - timedelta(days=7), end_date=after.date() + timedelta(days=7)
    )
    session = SessionFactory(
        semester=semester, date_start=before, date_end=before + timedelta(hours=2)
    )
    student = StudentFactory()
    BookingFactory(student=student, session=session)
    url = feed_url(student)
    first = events_of(client.get(url))[uid(session)]
    assert first["DTSTART"].dt == before.astimezone(UTC)
    assert int(first["SEQUENCE"]) == 0

    session_update(
        session=Session.objects.get(pk=session.pk),
        by=semester.master_instructor,
        date_start=after,
        date_end=after + timedelta(hours=2),
    )
    moved = events_of(client.get(url))[uid(session)]
    # 10:00 in Berlin on both days: a different UTC hour, the same wall-clock time.
    assert moved["DTSTART"].dt == after.astimezone(UTC)
    assert moved["DTSTART"].dt.astimezone(berlin).time() == time(10)
    assert moved["DTSTART"].dt.hour != first["DTSTART"].dt.hour
    assert int(moved["SEQUENCE"]) == 1
    assert moved["DTSTAMP"].dt >= first["DTSTAMP"].dt

    # A new place counts; a new title does not (no rescheduling for calendar clients).
    session_update(
        session=Session.objects.get(pk=session.pk), by=semester.master_instructor, location="Hall B"
    )
    session_update(
        session=Session.objects.get(pk=session.pk), by=semester.master_instructor, title="Renamed"
    )
    latest = events_of(client.get(url))[uid(session)]
    assert int(latest["SEQUENCE"]) == 2
    assert str(latest["LOCATION"]) == "Hall B"
    assert str(latest["SUMMARY"]) == "Renamed"


def test_a_cancelled_session_stays_in_the_feed_as_cancelled(client):
    session = SessionFactory()
    confirmed, waitlisted, left_before = StudentFactory(), StudentFactory(), StudentFactory()
    BookingFactory(student=confirmed, session=session)
    BookingFactory(student=waitlisted, session=session, status=Booking.Status.WAITLISTED)
    early = BookingFactory(student=left_before, session=session)
    cancel_booking(booking=early, by=left_before)

    cancel_session(session=session, by=session.semester.master_instructor)

    for student in (confirmed, waitlisted):
        event = events_of(client.get(feed_url(student)))[uid(session)]
        assert str(event["STATUS"]) == "CANCELLED"
        assert int(event["SEQUENCE"]) == 1
    instructor_event = events_of(client.get(feed_url(session.instructor)))[uid(session)]
    assert str(instructor_event["STATUS"]) == "CANCELLED"
    # Who had cancelled their own seat before has nothing to remove.
    assert events_of(client.get(feed_url(left_before))) == {}


def test_rotating_the_token_retires_the_old_address(client, token_client):
    student = StudentFactory()
    api = token_client(student)
    shown = api.get("/api/v1/me/").json()["calendar_url"]
    assert shown.startswith("webcal://127.0.0.1:8000/calendar/") and shown.endswith(".ics")
    assert api.get("/api/v1/me/").json()["calendar_url"] == shown  # stable across reads
    old_path = shown.removeprefix("webcal://127.0.0.1:8000")
    assert client.get(old_path).status_code == 200

    response = api.post("/api/v1/me/calendar/rotate/")

    assert response.status_code == 200
    new = response.json()["calendar_url"]
    assert new != shown
    assert api.get("/api/v1/me/").json()["calendar_url"] == new
    assert client.get(old_path).status_code == 404
    assert client.get(new.removeprefix("webcal://127.0.0.1:8000")).status_code == 200
    assert client.get("/calendar/not-a-token.ics").status_code == 404


def test_a_deactivated_account_has_no_feed(client):
    student = StudentFactory()
    url = feed_url(student)
    student.is_active = False
    student.save(update_fields=["is_active"])
    assert client.get(url).status_code == 404


def test_an_unchanged_feed_is_a_304_and_a_change_is_not(client):
    student = StudentFactory()
    booking = BookingFactory(
        student=student,
        session=SessionFactory(session_type=Session.SessionType.VIRTUAL),
        status=Booking.Status.WAITLISTED,
    )
    url = feed_url(student)
    first = client.get(url)
    etag, last_modified = first["ETag"], first["Last-Modified"]

    again = client.get(url, HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304 and again.content == b""
    assert again["ETag"] == etag
    assert client.get(url, HTTP_IF_MODIFIED_SINCE=last_modified).status_code == 304

    # Promoted: the event turns CONFIRMED and shows the link, so the tag changes.
    booking.status = Booking.Status.CONFIRMED
    booking.save()
    changed = client.get(url, HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200
    assert changed["ETag"] != etag
    event = events_of(changed)[uid(booking.session)]
    assert str(event["STATUS"]) == "CONFIRMED"
    assert "meet.example.test" in str(event["DESCRIPTION"])


@pytest.mark.parametrize("events", [1, 50])
def test_the_feed_costs_the_same_queries_at_every_size(events, client, django_assert_num_queries):
    student = StudentFactory()
    for _ in range(events):
        BookingFactory(student=student, session=SessionFactory())
    url = feed_url(student)
    # 1 token with its user, 1 the sessions with their booking, names and SEQUENCE.
    with django_assert_num_queries(2):
        response = client.get(url)
    assert len(events_of(response)) == events


def test_one_session_downloads_for_those_who_may_see_it(client):
    student = StudentFactory()
    session = SessionFactory(session_type=Session.SessionType.VIRTUAL)
    url = reverse("calendar:session-ics", args=[session.pk])

    assert client.get(url).status_code == 302  # to the login page
    client.force_login(student)
    response = client.get(url)
    assert response["Content-Disposition"] == f'attachment; filename="session-{session.pk}.ics"'
    event = events_of(response)[uid(session)]
    # In the student's catalogue but not booked: no link.
    assert "meet.example.test" not in event.to_ical().decode()
    BookingFactory(student=student, session=session)
    booked = events_of(client.get(url))[uid(session)]
    assert "Join: https://meet.example.test/room" in str(booked["DESCRIPTION"])

    elsewhere = SessionFactory(semester=SemesterFactory(is_active=False))
    assert client.get(reverse("calendar:session-ics", args=[elsewhere.pk])).status_code == 404


def test_the_token_lives_in_its_own_table():
    student = StudentFactory()
    token = calendar_token_for(user=student)
    assert CalendarToken.objects.get(user=student) == token
    assert calendar_token_for(user=student) == token


def test_the_instructor_pages_show_the_address_with_a_copy_button(client):
    instructor = InstructorFactory()
    session = SessionFactory(instructor=instructor)
    client.force_login(instructor)

    page = client.get(reverse("instructor:session-list")).content.decode()

    url = f"webcal://127.0.0.1:8000/calendar/{instructor.calendar_token.key}.ics"
    assert f'value="{url}"' in page
    assert 'data-copy-target="calendar-url"' in page
    # The copy button's code is a static file: the CSP allows no inline script.
    assert '<script src="/static/js/calendar_copy.js"></script>' in page
    assert "<script>" not in page
    detail = client.get(reverse("instructor:session-detail", args=[session.pk]))
    assert reverse("calendar:session-ics", args=[session.pk]) in detail.content.decode()

    response = client.post(reverse("calendar:rotate"))

    assert response.status_code == 302
    assert client.get(url.removeprefix("webcal://127.0.0.1:8000")).status_code == 404
    instructor.calendar_token.refresh_from_db()
    assert (
        instructor.calendar_token.key
        in client.get(reverse("instructor:session-list")).content.decode()
    )
