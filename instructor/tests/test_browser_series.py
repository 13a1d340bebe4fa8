"""The "Repeat" section in a real headless Chromium at a phone's width, under the CSP:
the preview refreshes as the rule changes (the form's script fetching the fragment),
the page stays axe-core clean and 390 px wide, and "Create session" makes the series."""

from datetime import time, timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from accounts.tests.factories import DEFAULT_PASSWORD
from config.tests.readme_screenshots import keep_for_readme
from scheduling.models import SessionSeries
from scheduling.tests.factories import SemesterFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE = (Path(__file__).parents[2] / "student" / "tests" / "vendor" / "axe.min.js").read_text()
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


@pytest.fixture
def phone(chromium, live_server):
    context = chromium.new_context(viewport={"width": 390, "height": 844}, base_url=live_server.url)
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()


def check_page(page, name: str, artifacts: Path) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"{name}: {width}px wide"
    page.evaluate(AXE)
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", AXE_TAGS
    )
    problems = [f"{v['id']}: {v['help']}" for v in result["violations"]]
    page.screenshot(path=str(artifacts / f"instructor-{name}.png"), full_page=True)
    assert problems == [], f"{name}: {problems}"


def test_the_repeat_preview_refreshes_and_creates_the_series_on_a_phone(phone, artifacts):
    from playwright.sync_api import expect

    page = phone
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    semester = SemesterFactory(location="Court 3, North campus")
    today = timezone.localdate()
    monday = today + timedelta(days=7 - today.weekday())
    page.goto("/accounts/login/")
    page.fill("#id_username", semester.master_instructor.username)
    page.fill("#id_password", DEFAULT_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/sessions/")

    page.goto("/sessions/new/")
    page.fill("#id_title", "Footwork")
    page.fill("#id_date_start", f"{monday.isoformat()}T18:00")
    page.fill("#id_date_end", f"{monday.isoformat()}T19:30")
    page.check("#id_repeat-weekdays_0")  # Monday
    page.check("#id_repeat-weekdays_2")  # Wednesday
    page.fill("#id_repeat-count", "5")

    preview = page.locator("#series-preview")
    expect(preview).to_contain_text("5 sessions")
    assert preview.locator("ol.occurrences li").count() == 5
    check_page(page, "series-preview", artifacts)

    page.click("button:has-text('Create session')")
    page.wait_for_url("**/sessions/*/")
    expect(page.locator("body")).to_contain_text("Series “Footwork” created: 5 sessions")
    assert SessionSeries.objects.get().occurrences.count() == 5
    assert errors == []  # nothing refused by the Content-Security-Policy


def test_the_series_page_cancels_with_a_confirmation_on_a_phone(phone, artifacts):
    """The forms are plain posts and the confirmation a plain page (the test client's
    tests run them without any script); here the layout at 390 px and axe-core."""
    from playwright.sync_api import expect

    from scheduling.series import series_create

    page = phone
    semester = SemesterFactory(location="Court 3, North campus")
    master = semester.master_instructor
    series = series_create(
        by=master,
        semester=semester,
        title="Footwork",
        instructor=master,
        weekdays=[1, 3],
        start_time=time(18, 0),
        duration_minutes=60,
        first_date=timezone.localdate() + timedelta(days=1),
        count=6,
    )
    page.goto("/accounts/login/")
    page.fill("#id_username", master.username)
    page.fill("#id_password", DEFAULT_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/sessions/")
    first = series.occurrences.order_by("date_start").first()
    page.goto(f"/sessions/{first.pk}/")
    page.click("text=Series: 6 sessions")
    check_page(page, "series-page", artifacts)
    keep_for_readme(artifacts / "instructor-series-page.png", "series.png")

    page.click("#series-cancel-form button[type=submit]")  # no session chosen
    expect(page.locator("#error-summary")).to_contain_text("Choose the session")
    check_page(page, "series-page-errors", artifacts)

    page.check("#id_cancel-scope_1")  # this and following
    page.select_option("#id_cancel-occurrence", str(first.pk))
    page.click("#series-cancel-form button[type=submit]")
    expect(page.locator("#series-summary")).to_contain_text("6 sessions will be cancelled.")
    check_page(page, "series-confirm", artifacts)
    page.click("button:has-text('Yes, cancel them')")
    expect(page.locator("body")).to_contain_text("6 sessions cancelled")
    assert not series.occurrences.filter(status="scheduled").exists()
