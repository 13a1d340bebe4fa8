"""My sessions on a 390 px phone in a real headless Chromium, under the CSP: each row a
card, nothing scrolls sideways, zero axe-core violations, and a filter applies as soon
as it is chosen (static/js/filters.js), focus returning to it."""

from pathlib import Path

import pytest

from accounts.tests.factories import DEFAULT_PASSWORD
from bookings.tests.factories import BookingFactory
from scheduling.tests.factories import SemesterFactory, SessionFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE = (Path(__file__).parents[2] / "student" / "tests" / "vendor" / "axe.min.js").read_text()
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


def test_my_sessions_on_a_phone_are_cards_that_filter_on_change(chromium, live_server, artifacts):
    from playwright.sync_api import expect

    semester = SemesterFactory(location="Court 3, North campus")
    other = SemesterFactory(master_instructor=semester.master_instructor)
    session = SessionFactory(
        semester=semester,
        title="A long session title that has to wrap on a narrow phone screen",
        capacity=4,
    )
    BookingFactory(session=session)
    SessionFactory(semester=other, title="Other semester's session")
    context = chromium.new_context(
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        base_url=live_server.url,
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    violations: list[str] = []
    page.on(
        "console",
        lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None,
    )
    try:
        page.goto("/accounts/login/")
        page.fill("#id_username", semester.master_instructor.username)
        page.fill("#id_password", DEFAULT_PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url("**/sessions/")

        expect(page.locator("tr[data-session]")).to_have_count(2)
        expect(page.locator(".sessions thead th").first).not_to_be_in_viewport()
        card = page.locator("tr[data-session]").first
        assert card.evaluate("row => getComputedStyle(row).display") == "block"
        expect(page.locator("[data-autosubmit-hint]")).to_be_visible()
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"{width}px wide"
        page.evaluate(AXE)
        result = page.evaluate(
            "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", AXE_TAGS
        )
        page.screenshot(path=str(artifacts / "instructor-sessions-phone.png"), full_page=True)
        problems = [
            f"{v['id']}: {[n['target'] for n in v['nodes']][:3]}" for v in result["violations"]
        ]
        assert problems == []

        page.select_option("#id_semester", str(other.pk))  # no Apply click: the change applies
        page.wait_for_url(f"**/sessions/?*semester={other.pk}*")
        expect(page.locator("tr[data-session]")).to_have_count(1)
        expect(page.locator("tr[data-session]")).to_contain_text("Other semester's session")
        expect(page.locator("#id_semester")).to_be_focused()
        assert violations == []
    finally:
        context.close()
