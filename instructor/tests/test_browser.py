"""The instructor pages in a real headless Chromium against a live server.

What only a browser can show: the meeting-link field hiding with the type, the
datetime-local inputs, the forms posting with their CSRF tokens, and how the
pages look (screenshots under test-artifacts/, and the README's picture).
"""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.tests.factories import DEFAULT_PASSWORD, StudentFactory
from bookings.models import Booking
from bookings.tests.factories import BookingFactory
from config.tests.readme_screenshots import keep_for_readme
from engagement.models import Attendance
from engagement.tests.factories import AttendanceFactory, FeedbackFactory
from scheduling.models import Session
from scheduling.tests.factories import PastSessionFactory, SemesterFactory, SessionFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def expect():
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect


def log_in(page, user) -> None:
    page.goto("/accounts/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", DEFAULT_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/sessions/")


def local_input(day_offset: int, hour: int) -> str:
    day = timezone.localdate() + timedelta(days=day_offset)
    return f"{day.isoformat()}T{hour:02d}:00"


def test_create_a_virtual_session_then_switch_it_on_site(page, artifacts):
    semester = SemesterFactory(location="Court 3, North campus")
    log_in(page, semester.master_instructor)

    page.click("text=New session")
    link_row = page.locator("#row-meeting_link")
    expect()(link_row).to_be_hidden()  # on site by default
    page.fill("#id_title", "Video analysis")
    page.fill("#id_description", "We watch last week's matches together.")
    page.select_option("#id_session_type", "virtual")
    expect()(link_row).to_be_visible()
    page.fill("#id_meeting_link", "https://meet.example.test/video")
    page.fill("#id_date_start", local_input(4, 18))
    page.fill("#id_date_end", local_input(4, 19))
    page.fill("#id_capacity", "15")
    expect()(page.locator("#id_location")).to_have_attribute("placeholder", "Court 3, North campus")
    page.screenshot(path=str(artifacts / "session-form.png"), full_page=True)
    page.click("button:has-text('Create session')")

    expect()(page.locator(".message.success")).to_have_text("Session “Video analysis” created.")
    session = Session.objects.get(title="Video analysis")
    assert (session.session_type, session.meeting_link) == (
        "virtual",
        "https://meet.example.test/video",
    )
    assert session.capacity == 15

    page.click("text=Edit")
    expect()(link_row).to_be_visible()
    expect()(page.locator("#id_meeting_link")).to_have_value("https://meet.example.test/video")
    page.select_option("#id_session_type", "on_site")
    expect()(link_row).to_be_hidden()
    page.fill("#id_title", "Video analysis, on court")
    page.click("button:has-text('Save changes')")

    expect()(page.locator(".message.success")).to_have_text(
        "Session “Video analysis, on court” saved."
    )
    session.refresh_from_db()
    assert (session.session_type, session.meeting_link) == ("on_site", "")
    assert session.location == "Court 3, North campus"


def test_form_errors_are_shown_beside_their_fields(page):
    semester = SemesterFactory()
    log_in(page, semester.master_instructor)

    page.goto("/sessions/new/")
    page.fill("#id_title", "Backwards")
    page.fill("#id_date_start", local_input(3, 12))
    page.fill("#id_date_end", local_input(3, 11))
    page.click("button:has-text('Create session')")

    expect()(page.locator("#row-date_end .error")).to_have_text(
        "The session must end after it starts."
    )
    assert not Session.objects.exists()


def test_mark_attendance_on_a_started_session(page, artifacts):
    session = PastSessionFactory(title="Match play")
    first = BookingFactory(session=session, student=StudentFactory(first_name="Ana", last_name="A"))
    second = BookingFactory(
        session=session, student=StudentFactory(first_name="Ben", last_name="B")
    )
    BookingFactory(session=session, status=Booking.Status.WAITLISTED)
    FeedbackFactory(session=session, rating=4, comment="Good rhythm, clear drills.")
    log_in(page, session.semester.master_instructor)

    page.select_option("#id_when", "past")  # the list opens on upcoming sessions
    page.wait_for_url(re.compile(r"when=past"))  # the filter applies on change
    page.click("text=Match play")
    page.screenshot(path=str(artifacts / "session-detail.png"), full_page=True)
    page.select_option(f"#id_student_{first.student_id}", "present")
    page.select_option(f"#id_student_{second.student_id}", "late")
    page.click("button:has-text('Save attendance')")

    expect()(page.locator(".message.success")).to_have_text("Attendance saved for 2 students.")
    expect()(page.locator(f"#id_student_{second.student_id}")).to_have_value("late")
    statuses = dict(Attendance.objects.values_list("student_id", "status"))
    assert statuses == {first.student_id: "present", second.student_id: "late"}


def test_a_booked_session_is_cancelled_instead_of_deleted(page, artifacts):
    session = SessionFactory(title="Serve clinic", credit_cost=2)
    BookingFactory.create_batch(3, session=session)
    BookingFactory(session=session, status=Booking.Status.WAITLISTED)
    log_in(page, session.semester.master_instructor)

    page.goto(f"/sessions/{session.pk}/")
    page.click("text=Delete…")

    expect()(page.locator(".blocked")).to_contain_text("cannot be deleted")
    expect()(page.locator(".blocking li")).to_have_text(["4 bookings (of any status)"])
    expect()(page.locator("button:has-text('Delete the session')")).to_have_count(0)
    page.screenshot(path=str(artifacts / "session-delete.png"), full_page=True)
    page.click("button:has-text('Cancel the session instead')")

    expect()(page.locator(".message.success")).to_have_text(
        "Session “Serve clinic” cancelled: 4 bookings cancelled, 6 credits refunded."
    )
    expect()(page.locator("h1 .badge")).to_have_text("Cancelled")
    session.refresh_from_db()
    assert session.status == Session.Status.CANCELLED
    assert not Booking.objects.live().filter(session=session).exists()


def seed_a_realistic_semester():
    """A semester that looks like a working week, for the screenshots."""
    semester = SemesterFactory(code="SPRING", name="Spring term", location="Court 3")
    master = semester.master_instructor
    master.first_name, master.last_name = "Maria", "Master"
    master.save(update_fields=["first_name", "last_name"])
    now = timezone.now().replace(minute=0, second=0, microsecond=0)
    plan = [
        ("Serve and return", "on_site", 1, 12, 12, 3),
        ("Footwork ladders", "on_site", 2, 16, 9, 0),
        ("Video analysis", "virtual", 3, 30, 21, 0),
        ("Doubles tactics", "hybrid", 5, 10, 4, 0),
        ("Match play", "on_site", 8, 8, 2, 0),
    ]
    for title, kind, days, capacity, booked, waiting in plan:
        session = SessionFactory(
            semester=semester,
            title=title,
            session_type=kind,
            capacity=capacity,
            credit_cost=2 if kind == "on_site" else 1,
            date_start=now + timedelta(days=days, hours=2),
        )
        BookingFactory.create_batch(booked, session=session)
        BookingFactory.create_batch(waiting, session=session, status=Booking.Status.WAITLISTED)
    SessionFactory(
        semester=semester,
        title="Outdoor conditioning",
        status=Session.Status.CANCELLED,
        date_start=now + timedelta(days=4, hours=4),
    )
    return master


def test_the_sessions_page_on_a_laptop_and_a_tablet(page, artifacts):
    master = seed_a_realistic_semester()
    past = PastSessionFactory(semester=master.mastered_semesters.get(), title="Warm-up clinic")
    for rating in (5, 4):
        booking = BookingFactory(session=past)
        AttendanceFactory(session=past, student=booking.student)
        FeedbackFactory(session=past, student=booking.student, rating=rating)
    log_in(page, master)

    rows = page.locator("table.sessions tbody tr")
    expect()(rows).to_have_count(6)  # upcoming only, by default
    full = page.locator("tr:has-text('Serve and return')")
    expect()(full.locator(".spots .count")).to_have_text("12/12")
    expect()(full.locator(".fill")).to_have_class("fill full")
    expect()(page.locator("tr.is-cancelled")).to_contain_text("Outdoor conditioning")

    page.select_option("#id_when", "")
    page.wait_for_url(re.compile(r"when=&"))  # the filter applies on change
    expect()(rows).to_have_count(7)
    past_row = page.locator("tr:has-text('Warm-up clinic')")
    expect()(past_row.locator("td.num").nth(1)).to_have_text("2")  # attended
    expect()(past_row.locator("td.num").nth(2)).to_have_text("★ 4.5")
    page.screenshot(path=str(artifacts / "sessions.png"), full_page=True)
    keep_for_readme(artifacts / "sessions.png", "sessions.png")

    page.set_viewport_size({"width": 820, "height": 1180})
    page.goto("/sessions/")
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, "the page scrolls sideways on a tablet"
    table = page.locator(".table-wrap")
    hidden = table.evaluate("wrap => wrap.scrollWidth - wrap.clientWidth")
    assert hidden <= 0, "the sessions table needs a sideways scroll on a tablet"
    page.screenshot(path=str(artifacts / "sessions-tablet.png"), full_page=True)
