"""The student story in a real headless Chromium, under the CSP, at a phone's and a desk's size.

One test walks the whole story (log in, filter, book by keyboard alone, get waitlisted, get
promoted when another student cancels, cancel inside and outside the refund window, give
feedback once, read the ledger and the attendance record); on every page on the way: no
sideways scrolling and zero axe-core violations (WCAG 2.x A and AA, colour contrast
included). Another races two browsers for the last seat.
"""

import threading
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from accounts.tests.factories import DEFAULT_PASSWORD, StudentFactory
from bookings.models import Booking, CreditTransaction
from bookings.services import book_session, cancel_booking
from bookings.tests.factories import BookingFactory, CreditGrantFactory
from config.tests.readme_screenshots import keep_for_readme
from engagement.models import Feedback
from engagement.tests.factories import AttendanceFactory, ProjectSessionFactory
from scheduling.models import Session
from scheduling.tests.factories import PastSessionFactory, SemesterFactory, SessionFactory

from .conftest import DESK, PHONE

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE = (Path(__file__).parent / "vendor" / "axe.min.js").read_text()
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
# The phone's pages that the README shows.
README_PAGES = ("schedule", "session", "bookings", "attendance")


def expect():
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect


def check_page(page, name: str, artifacts: Path) -> None:
    """No sideways scrolling, and no axe-core violation; colour contrast was checked.

    axe is evaluated through the DevTools protocol, which the page's
    Content-Security-Policy does not govern: the page itself stays as served.
    """
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"{name}: {width}px wide"
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE)
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", AXE_TAGS
    )
    problems = [
        f"{v['id']}: {v['help']} ({[n['target'] for n in v['nodes']][:3]})"
        for v in result["violations"]
    ]
    ran = {rule["id"] for kind in ("passes", "violations", "incomplete") for rule in result[kind]}
    assert "color-contrast" in ran, f"{name}: colour contrast was not checked"
    size = "phone" if page.viewport_size == PHONE else "desk"
    shot = artifacts / f"student-{name}-{size}.png"
    page.screenshot(path=str(shot), full_page=True)
    if size == "phone" and name in README_PAGES:
        keep_for_readme(shot, f"student-{name}.png")
    assert problems == [], f"{name}: {problems}"


def log_in(page, student) -> None:
    page.goto("/accounts/login/")
    page.fill("#id_username", student.username)
    page.fill("#id_password", DEFAULT_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/student/")


def tab_to(page, text: str, limit: int = 40) -> None:
    """Press Tab until the focused element says `text` (a keyboard user's way there)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate("document.activeElement && document.activeElement.innerText")
        if focused and text in focused:
            return
    raise AssertionError(f"Tab never reached {text!r}")


def at(hours: float):
    return (timezone.now() + timedelta(hours=hours)).replace(second=0, microsecond=0)


@pytest.mark.parametrize("viewport", [PHONE, DESK], ids=["phone", "desk"])
def test_the_whole_student_story(student_page, viewport, artifacts):
    page = student_page(viewport)
    semester = SemesterFactory(location="Court 3, North campus")
    ada = StudentFactory(first_name="Ada", last_name="Lovelace")
    CreditGrantFactory(user=ada, amount=10, note="Welcome credits")
    bob = StudentFactory(first_name="Bob")
    CreditGrantFactory(user=bob, amount=5)

    def session(title: str, hours: float, **kwargs) -> Session:
        start = at(hours)
        return SessionFactory(
            semester=semester, title=title, date_start=start, date_end=start + timedelta(hours=1),
            **kwargs,
        )  # fmt: skip

    serve = session("Serve drills", 72, credit_cost=2, capacity=4)
    full = session("Full house", 96, capacity=1)
    tonight = session("Evening match", 5)
    session("Online theory", 100, session_type=Session.SessionType.VIRTUAL)
    bobs_seat = book_session(student=bob, session=full, by=bob)
    book_session(student=ada, session=tonight, by=ada)  # inside 24 h: no refund later
    past = PastSessionFactory(semester=semester, title="Match play")
    BookingFactory(session=past, student=ada)
    AttendanceFactory(session=past, student=ada)
    ProjectSessionFactory(project__semester=semester, project__title="Spring cup", session=past)

    # Log in and filter the schedule.
    log_in(page, ada)
    expect()(page.locator("h1")).to_have_text("Schedule")
    expect()(page.locator(".session-card")).to_have_count(4)
    check_page(page, "schedule", artifacts)
    page.click("summary:has-text('Filters')")
    page.fill("#f-search", "serve")
    page.click("button:has-text('Apply filters')")
    expect()(page.locator(".session-card")).to_have_count(1)
    expect()(page.locator(".session-card")).to_contain_text("Serve drills")

    # Book with the keyboard alone, from the session page through the confirmation.
    page.click("text=Serve drills")
    expect()(page.locator(".policy")).to_contain_text("Free cancellation until")
    check_page(page, "session", artifacts)
    tab_to(page, "Book for 2 credits (balance after: 7)")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/student/sessions/{serve.pk}/book/")
    check_page(page, "book-confirm", artifacts)
    tab_to(page, "Book for 2 credits")
    page.keyboard.press("Enter")
    page.wait_for_url("**/student/bookings/")
    expect()(page.locator(".message.success")).to_contain_text(
        "Booked: “Serve drills”"
    )  # fmt: skip
    expect()(page.locator(".message.success")).to_contain_text("your balance is 7")

    # A full session: the waitlist, uncharged.
    page.goto(f"/student/sessions/{full.pk}/")
    page.click("text=Join the waitlist (you would be 1st")
    expect()(page.locator("h1")).to_have_text("Join the waitlist?")
    page.click("button:has-text('Join the waitlist')")
    page.wait_for_url("**/student/bookings/")
    expect()(page.locator(".message.info")).to_contain_text(
        "You are 1st on the waitlist for “Full house”"
    )
    waitlist = page.locator("section[aria-labelledby=waitlist-head]")
    expect()(waitlist.locator(".booking-card", has_text="Full house")).to_be_visible()

    # Another student cancels: the seat goes to Ada, as she sees on reload.
    cancel_booking(booking=bobs_seat, by=bob)
    page.reload()
    upcoming = page.locator("section[aria-labelledby=upcoming-head]")
    expect()(upcoming.locator(".booking-card", has_text="Full house")).to_be_visible()
    expect()(waitlist.locator(".booking-card")).to_have_count(0)
    check_page(page, "bookings", artifacts)

    # Cancel inside the refund window ...
    upcoming.locator(".booking-card", has_text="Serve drills").locator(
        "text=Cancel (refund 2 credits)"
    ).click()
    expect()(page.locator(".outcome")).to_have_text("2 credits will be refunded to your balance.")
    check_page(page, "cancel-confirm", artifacts)
    page.click("button:has-text('Cancel the booking')")
    expect()(page.locator(".message.success")).to_have_text(
        "Cancelled “Serve drills”: 2 credits refunded."
    )
    # ... and outside it.
    upcoming.locator(".booking-card", has_text="Evening match").locator(
        "text=Cancel (no refund)"
    ).click()
    expect()(page.locator(".outcome")).to_contain_text("No refund: the free cancellation ended")
    page.click("button:has-text('Cancel the booking')")
    expect()(page.locator(".message.success")).to_have_text("Cancelled “Evening match”: no refund.")

    # Feedback on the attended session, once.
    page.click("text=Give feedback")
    check_page(page, "feedback", artifacts)
    page.check("text=4 of 5")
    page.fill("textarea", "Good pace, more serves please.")
    page.click("button:has-text('Send feedback')")
    expect()(page.locator(".message.success")).to_contain_text("your feedback on “Match play”")
    expect()(page.locator(".booking-card", has_text="Match play")).to_contain_text("Feedback given")
    page.goto(f"/student/sessions/{past.pk}/feedback/")
    expect()(page.locator("main")).to_contain_text("You rated this session 4 of 5")
    expect()(page.locator("main")).to_contain_text("Feedback is given once.")
    assert Feedback.objects.get(student=ada, session=past).rating == 4

    # The ledger names each session and the balance after each row.
    page.click("nav >> text=Credits")
    expect()(page.locator(".balance-figure strong")).to_have_text("8")
    rows = page.locator(".ledger-row")
    expect()(rows).to_have_count(CreditTransaction.objects.filter(user=ada).count())
    expect()(rows.nth(0)).to_contain_text("Refund for “Serve drills”")
    expect()(rows.nth(0)).to_contain_text("balance 8")
    expect()(page.locator(".ledger")).to_contain_text("Booked “Full house”")
    expect()(page.locator(".ledger")).to_contain_text("Welcome credits")
    check_page(page, "credits", artifacts)

    # The attendance record: one held session, present.
    page.click("nav >> text=Attendance")
    row = page.locator(".attendance-row", has_text="Match play")
    expect()(row.locator(".attendance-status")).to_have_text("Present")
    expect()(page.locator(".attendance-rate strong")).to_have_text("100%")
    check_page(page, "attendance", artifacts)

    for name, path in (("projects", "projects/"), ("profile", "profile/")):
        page.goto(f"/student/{path}")
        check_page(page, name, artifacts)


@pytest.fixture
def one_request_at_a_time_on_sqlite(live_server):
    """SQLite's in-memory test database is one connection that the live server's request
    threads share, so they may not use it at once: on SQLite the server takes one request
    at a time (the race is then decided by the order of arrival). On PostgreSQL every
    request thread has its own connection and the race is real, decided by the row lock."""
    if connection.vendor != "sqlite":
        yield
        return
    server = live_server.thread.httpd
    app = server.get_app()
    lock = threading.Lock()

    def serialised(environ, start_response):
        with lock:
            return list(app(environ, start_response))

    server.set_app(serialised)
    yield
    server.set_app(app)


def test_two_browsers_race_for_the_last_seat(student_page, one_request_at_a_time_on_sqlite):
    last_seat = SessionFactory(title="Last seat", capacity=2, credit_cost=1)
    BookingFactory(session=last_seat)  # one seat of two taken
    racers = []
    for name in ("Ann", "Ben"):
        student = StudentFactory(first_name=name)
        CreditGrantFactory(user=student, amount=3)
        page = student_page(PHONE)
        log_in(page, student)
        page.goto(f"/student/sessions/{last_seat.pk}/book/")
        expect()(page.locator("button[type=submit].primary")).to_have_text(
            "Book for 1 credit (balance after: 2)"
        )
        racers.append((student, page))

    # Both press the button at the same moment: neither waits for the other's answer.
    for _, page in racers:
        page.evaluate(
            "() => setTimeout(() => document.querySelector('main form').requestSubmit(), 0)"
        )
    told = []
    for _, page in racers:
        page.wait_for_url("**/student/bookings/")
        told.append(page.locator(".messages").inner_text())

    statuses = sorted(
        Booking.objects.filter(session=last_seat, student__in=[s for s, _ in racers]).values_list(
            "status", flat=True
        )
    )
    assert statuses == ["confirmed", "waitlisted"]
    assert sorted(message.split(":")[0].split(" on")[0] for message in told) == [
        "Booked",
        "You are 1st",
    ], told
