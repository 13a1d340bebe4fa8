"""My sessions' search, date range and zone; "Mark all present"; the sign-in sheet and
the roster CSV: content, permissions and query budgets (test client)."""

import csv
import io
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import InstructorFactory, StaffFactory, StudentFactory
from bookings.models import Booking
from bookings.tests.factories import BookingFactory
from engagement.models import Attendance
from engagement.tests.factories import AttendanceFactory, FeedbackFactory
from scheduling.tests.factories import PastSessionFactory, SemesterFactory, SessionFactory

pytestmark = pytest.mark.django_db

LIST = reverse("instructor:session-list")


@pytest.fixture
def semester():
    return SemesterFactory(location="Court 3, North campus")


@pytest.fixture
def master(semester):
    return semester.master_instructor


def titles(response) -> list[str]:
    return [session.title for session in response.context["sessions"]]


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


# --- My sessions: search, date range, zone, layout ------------------------------------------


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        ("serve", ["Serve drills"]),
        ("HALL B", ["Footwork"]),  # the place, whatever the case
        ("nothing like it", []),
    ],
)
def test_the_search_box_finds_title_or_place(client, semester, master, search, expected):
    SessionFactory(semester=semester, title="Serve drills", location="Court 1")
    SessionFactory(semester=semester, title="Footwork", location="Hall B")
    client.force_login(master)

    response = client.get(LIST, {"search": search})

    assert response.status_code == 200
    assert titles(response) == expected
    assert f'value="{search}"' in response.content.decode()  # the box keeps what was typed


def test_the_date_range_is_read_in_the_users_time_zone(client, semester, master):
    auckland = ZoneInfo("Pacific/Auckland")
    master.time_zone = "Pacific/Auckland"
    master.save()
    day = timezone.localdate() + timedelta(days=10)
    # 08:00 in Auckland on `day` is the evening before in UTC: the UTC day would miss it.
    early = datetime(day.year, day.month, day.day, 8, tzinfo=auckland)
    SessionFactory(
        semester=semester, title="Early", date_start=early, date_end=early + timedelta(hours=1)
    )
    late = early + timedelta(days=1)
    SessionFactory(
        semester=semester, title="Next day", date_start=late, date_end=late + timedelta(hours=1)
    )
    client.force_login(master)

    one_day = client.get(LIST, {"date_from": day.isoformat(), "date_to": day.isoformat()})
    from_day = client.get(LIST, {"date_from": day.isoformat()})

    assert titles(one_day) == ["Early"]
    assert titles(from_day) == ["Early", "Next day"]
    html = one_day.content.decode()
    assert f'name="date_from" value="{day.isoformat()}"' in html  # the day, not the moment


def test_a_bad_date_is_a_400_whose_summary_links_to_the_field(client, semester, master):
    SessionFactory(semester=semester)
    client.force_login(master)

    response = client.get(LIST, {"date_from": "2026-13-45", "date_to": "soon"})

    assert response.status_code == 400
    assert titles(response) == []
    html = response.content.decode()
    assert '<a href="#id_date_from">From: Enter a valid date/time.</a>' in html
    assert '<a href="#id_date_to">To: Enter a valid date/time.</a>' in html


def test_times_are_shown_in_the_users_zone_and_the_zone_is_named(client, semester, master):
    master.time_zone = "America/New_York"
    master.save()
    start = datetime(2031, 1, 15, 15, 0, tzinfo=ZoneInfo("UTC"))
    SessionFactory(
        semester=semester,
        title="Winter serve",
        date_start=start,
        date_end=start + timedelta(hours=1),
    )
    client.force_login(master)

    response = client.get(LIST, {"when": ""})

    html = response.content.decode()
    assert "Times in America/New_York." in html
    assert "10:00\u201311:00 EST" in html  # 15:00 UTC in New York in January


def test_the_filters_apply_on_change_and_keep_a_button_without_javascript(client, semester, master):
    SessionFactory(semester=semester)
    client.force_login(master)

    html = client.get(LIST).content.decode()

    assert 'class="filters" aria-label="Filter sessions" data-autosubmit>' in html
    assert '<button type="submit" class="button">Apply</button>' in html
    assert "/static/js/filters.js" in html
    # Each figure carries its column's name, which the phone's card layout shows.
    for label in ("Type", "Spots", "Waitlist", "Attended", "Rating", "Credits"):
        assert f'data-label="{label}"' in html


@pytest.mark.parametrize("session_count", [1, 10, 50])
def test_the_filtered_list_costs_the_same_queries_at_every_size(
    client, semester, master, session_count, django_assert_num_queries
):
    for session in SessionFactory.create_batch(
        session_count, semester=semester, title="Drills", location="Hall B"
    ):
        BookingFactory(session=session)
        BookingFactory(session=session, status=Booking.Status.WAITLISTED)
        FeedbackFactory(session=session)
    client.force_login(master)
    query = {
        "search": "hall b",
        "date_from": timezone.localdate().isoformat(),
        "date_to": (timezone.localdate() + timedelta(days=400)).isoformat(),
    }
    client.get(LIST)  # the first visit creates the calendar address

    # 1 django session + 1 user, 1 semesters for the filter, 1 count, 1 page (rows and
    # statistics for the page's ids), 1 the calendar address.
    with django_assert_num_queries(6):
        response = client.get(LIST, query)

    assert len(response.context["sessions"]) == min(session_count, 25)


# --- Mark all present ------------------------------------------------------------------------


def test_mark_all_present_marks_every_confirmed_student_through_the_service(
    client, semester, master
):
    session = PastSessionFactory(semester=semester)
    unmarked, late, already = BookingFactory.create_batch(3, session=session)
    AttendanceFactory(session=session, student=late.student, status=Attendance.Status.LATE)
    AttendanceFactory(session=session, student=already.student, status=Attendance.Status.PRESENT)
    waiting = BookingFactory(session=session, status=Booking.Status.WAITLISTED)
    client.force_login(master)
    detail = client.get(reverse("instructor:session-detail", args=[session.pk]))
    assert 'name="mark_all_present"' in detail.content.decode()

    response = client.post(
        reverse("instructor:session-attendance", args=[session.pk]),
        {"mark_all_present": "1", f"student_{unmarked.student_id}": "absent"},
    )

    recorded = dict(Attendance.objects.filter(session=session).values_list("student", "status"))
    assert recorded == {
        unmarked.student_id: "present",
        late.student_id: "present",
        already.student_id: "present",
    }
    assert waiting.student_id not in recorded
    assert Attendance.objects.get(student=unmarked.student).marked_by == master
    # Two changed; the one already present is left as it was.
    assert messages_of(response) == ["Attendance saved for 2 students."]


def test_mark_all_present_before_the_start_is_refused(client, semester, master):
    session = SessionFactory(semester=semester)
    BookingFactory(session=session)
    client.force_login(master)

    response = client.post(
        reverse("instructor:session-attendance", args=[session.pk]), {"mark_all_present": "1"}
    )

    assert not Attendance.objects.exists()
    assert messages_of(response) == ["Attendance opens when the session starts."]


# --- Sign-in sheet and roster CSV ------------------------------------------------------------

ROSTER_PAGES = ["session-sign-in-sheet", "session-roster-csv"]


def roster_url(name: str, session) -> str:
    return reverse(f"instructor:{name}", args=[session.pk])


@pytest.mark.parametrize("name", ROSTER_PAGES)
@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("anonymous", 302),
        ("student", 403),
        ("stranger", 404),
        ("teacher", 200),
        ("master", 200),
        ("staff", 200),
    ],
)
def test_the_roster_exports_follow_the_roster_pages_rules(client, semester, name, who, status):
    teacher = InstructorFactory()
    session = SessionFactory(semester=semester, instructor=teacher)
    user = {
        "anonymous": None,
        "student": StudentFactory(),
        "stranger": InstructorFactory(),
        "teacher": teacher,
        "master": semester.master_instructor,
        "staff": StaffFactory(),
    }[who]
    if user is not None:
        client.force_login(user)

    response = client.get(roster_url(name, session))

    assert response.status_code == status
    if who == "anonymous":
        assert response["Location"].startswith(reverse("login"))


def make_roster(semester):
    session = PastSessionFactory(semester=semester, capacity=2, title="Serve drills")
    zed = BookingFactory(session=session, student=StudentFactory(first_name="Zoe", last_name="Zed"))
    BookingFactory(
        session=session,
        student=StudentFactory(first_name="=HYPERLINK(1)", last_name="Abbot", email="a@x.test"),
    )
    BookingFactory(
        session=session,
        status=Booking.Status.WAITLISTED,
        student=StudentFactory(first_name="Will", last_name="Wait"),
    )
    BookingFactory(
        session=session,
        status=Booking.Status.CANCELLED,
        student=StudentFactory(first_name="Gone", last_name="Away"),
    )
    AttendanceFactory(session=session, student=zed.student, status=Attendance.Status.LATE)
    return session


def test_the_sign_in_sheet_lists_the_confirmed_students_by_name(client, semester, master):
    session = make_roster(semester)
    master.time_zone = "Europe/Paris"
    master.save()
    client.force_login(master)

    response = client.get(roster_url("session-sign-in-sheet", session))

    assert [s.last_name for s in response.context["students"]] == ["Abbot", "Zed"]
    html = response.content.decode()
    assert "Sign-in sheet: Serve drills" in html
    assert "(Europe/Paris)" in html
    assert '<th scope="col" class="signature">Signature</th>' in html
    assert html.count('<td class="signature"></td>') == 2
    assert "Will Wait" not in html and "Gone Away" not in html


def test_the_roster_csv_has_every_live_booking_with_its_attendance(client, semester, master):
    session = make_roster(semester)
    client.force_login(master)

    response = client.get(roster_url("session-roster-csv", session))

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    day = timezone.localdate(session.date_start).isoformat()
    assert response["Content-Disposition"] == (
        f'attachment; filename="roster-{session.pk}-{day}.csv"'
    )
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["Name", "Email", "Booking status", "Waitlist position", "Attendance"]
    waiting = Booking.objects.get(session=session, status="waitlisted").student
    assert [row[0] for row in rows[1:]] == ["'=HYPERLINK(1) Abbot", "Zoe Zed", "Will Wait"]
    assert rows[1][1:] == ["a@x.test", "Confirmed", "", ""]  # a formula is written as text
    assert rows[2][2:] == ["Confirmed", "", "Late"]
    assert rows[3][1:] == [waiting.email, "Waitlisted", "1", ""]


@pytest.mark.parametrize("booking_count", [1, 10, 50])
@pytest.mark.parametrize(
    ("name", "budget"),
    [
        # 1 django session + 1 user, 1 session, 1 confirmed bookings with their students,
        # 1 navigation (may the user create sessions: an EXISTS).
        ("session-sign-in-sheet", 5),
        # 1 django session + 1 user, 1 session, 1 live bookings with students, waitlist
        # positions and attendance.
        ("session-roster-csv", 4),
    ],
)
def test_the_roster_exports_cost_the_same_queries_at_every_size(
    client, semester, master, name, budget, booking_count, django_assert_num_queries
):
    session = PastSessionFactory(semester=semester, capacity=booking_count)
    for booking in BookingFactory.create_batch(booking_count, session=session):
        AttendanceFactory(session=session, student=booking.student)
    BookingFactory.create_batch(booking_count, session=session, status=Booking.Status.WAITLISTED)
    client.force_login(master)

    with django_assert_num_queries(budget):
        response = client.get(roster_url(name, session))

    assert response.status_code == 200
    body = response.content.decode()
    assert body.count("Waitlisted") == (booking_count if name == "session-roster-csv" else 0)
