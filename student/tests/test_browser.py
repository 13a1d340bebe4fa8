"""The student story in a real headless Chromium, at a phone's size, under the CSP.

Log in, book, see the booking, cancel; on every student page on the way: no sideways
scrolling at 390 px, and zero axe-core violations (WCAG 2.x A and AA rules).
"""

from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from accounts.tests.factories import DEFAULT_PASSWORD, StudentFactory
from bookings.models import Booking, CreditTransaction
from bookings.tests.factories import BookingFactory, CreditGrantFactory
from engagement.tests.factories import AttendanceFactory, ProjectSessionFactory
from scheduling.models import Session
from scheduling.tests.factories import PastSessionFactory, SemesterFactory, SessionFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE = (Path(__file__).parent / "vendor" / "axe.min.js").read_text()
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


def expect():
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect


def check_page(page, name: str, artifacts: Path) -> None:
    """No sideways scrolling at the phone's width, and no axe-core violation.

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
    page.screenshot(path=str(artifacts / f"student-{name}.png"), full_page=True)
    assert problems == [], f"{name}: {problems}"


def test_a_student_books_sees_and_cancels_on_a_phone(phone, artifacts):
    page = phone
    semester = SemesterFactory(location="Court 3, North campus")
    student = StudentFactory(first_name="Ada", last_name="Lovelace")
    CreditGrantFactory(user=student, amount=5, note="Welcome credits")
    start = (timezone.now() + timedelta(days=3)).replace(minute=0, second=0, microsecond=0)
    session = SessionFactory(
        semester=semester,
        title="Serve drills",
        credit_cost=2,
        capacity=4,
        date_start=start,
        date_end=start + timedelta(hours=1),
    )
    full = SessionFactory(
        semester=semester,
        title="A very long session title that has to wrap on a narrow phone screen",
        session_type=Session.SessionType.VIRTUAL,
        capacity=1,
    )
    BookingFactory(session=full)
    BookingFactory(session=full, status=Booking.Status.WAITLISTED)
    past = PastSessionFactory(semester=semester, title="Match play")
    BookingFactory(session=past, student=student)
    AttendanceFactory(session=past, student=student)
    ProjectSessionFactory(project__semester=semester, project__title="Spring cup", session=past)

    page.goto("/accounts/login/")
    check_page(page, "login", artifacts)
    page.fill("#id_username", student.username)
    page.fill("#id_password", DEFAULT_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/student/")
    expect()(page.locator("h1")).to_have_text("Schedule")
    expect()(page.locator(".session-card")).to_have_count(2)
    check_page(page, "schedule", artifacts)

    page.click("text=Serve drills")
    expect()(page.locator(".policy")).to_contain_text("Free cancellation until")
    check_page(page, "session", artifacts)
    page.click("text=Book for 2 credits (balance after: 3)")
    check_page(page, "book-confirm", artifacts)
    page.click("button:has-text('Book for 2 credits')")

    page.wait_for_url("**/student/bookings/")
    expect()(page.locator(".message.success")).to_contain_text("Booked: “Serve drills”")
    card = page.locator(".booking-card", has_text="Serve drills")
    expect()(card).to_be_visible()
    assert Booking.objects.get(session=session, student=student).status == "confirmed"
    check_page(page, "bookings", artifacts)

    card.locator("text=Cancel (refund 2 credits)").click()
    expect()(page.locator(".outcome")).to_have_text("2 credits will be refunded to your balance.")
    check_page(page, "cancel-confirm", artifacts)
    page.click("button:has-text('Cancel the booking')")
    expect()(page.locator(".message.success")).to_have_text(
        "Cancelled “Serve drills”: 2 credits refunded."
    )
    expect()(page.locator(".booking-card", has_text="Serve drills")).to_have_count(0)
    assert CreditTransaction.objects.filter(user=student, kind="refund", amount=2).exists()

    page.click("text=Give feedback")
    check_page(page, "feedback", artifacts)
    for name, path in (("credits", "credits/"), ("projects", "projects/"), ("profile", "profile/")):
        page.goto(f"/student/{path}")
        check_page(page, name, artifacts)
