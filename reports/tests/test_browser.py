"""The register and the dashboard in a real headless Chromium: no Content-Security-Policy
violation, the print stylesheet hides the navigation, the charts fit a phone; and the
README's pictures (docs/screenshots/register.png, dashboard.png)."""

import pytest

from accounts.tests.factories import DEFAULT_PASSWORD
from config.tests.readme_screenshots import keep_for_readme
from instructor.tests.conftest import artifacts, chromium, page  # noqa: F401 (fixtures)

from .world import build_world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_register_and_dashboard_in_a_browser(page, artifacts):  # noqa: F811
    violations: list[str] = []
    page.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    world = build_world()
    page.goto("/accounts/login/")
    page.fill("#id_username", world.master.username)
    page.fill("#id_password", DEFAULT_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/sessions/")

    page.click("text=Reports")
    page.click("text=Attendance register")
    assert page.locator("table#register tbody tr").count() == 3
    assert page.locator("tr.flagged").count() == 2
    page.screenshot(path=str(artifacts / "register.png"), full_page=True)
    keep_for_readme(artifacts / "register.png", "register.png")
    page.emulate_media(media="print")
    assert not page.locator("header.topbar").is_visible()
    assert not page.locator("text=Download CSV").is_visible()
    page.emulate_media(media="screen")

    page.click("text=Dashboard")
    assert page.locator("svg.chart-svg").count() == 4
    page.screenshot(path=str(artifacts / "dashboard.png"), full_page=True)
    keep_for_readme(artifacts / "dashboard.png", "dashboard.png")
    # A phone: the charts scale down with their viewBox, within the screen's width.
    page.set_viewport_size({"width": 390, "height": 844})
    width = page.locator("svg.chart-svg").first.bounding_box()["width"]
    assert 200 < width <= 390
    page.screenshot(path=str(artifacts / "dashboard-phone.png"), full_page=True)
    assert violations == []
