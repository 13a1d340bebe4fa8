"""The Content-Security-Policy in a real headless Chromium: the pages, the admin and
Swagger UI work under it, and the browser reports no violation on any of them.

The markup checks (config/tests/test_edge_headers.py) find inline code; only a browser
shows that what the pages load at run time (Swagger UI's bundle, the admin's widgets)
keeps to the policy too.
"""

import pytest

from accounts.tests.factories import DEFAULT_PASSWORD, StaffFactory
from scheduling.tests.factories import SemesterFactory, SessionFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _violations(page) -> list[str]:
    found: list[str] = []
    page.on(
        "console",
        lambda message: (
            found.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    return found


def test_pages_admin_and_swagger_ui_run_under_the_policy(page):
    from playwright.sync_api import expect

    violations = _violations(page)
    staff = StaffFactory()
    semester = SemesterFactory(master_instructor=staff)
    session = SessionFactory(semester=semester, instructor=staff)

    page.goto("/accounts/login/")
    assert (
        "script-src 'self'"
        in (page.context.request.get("/accounts/login/").headers)["content-security-policy"]
    )
    page.fill("#id_username", staff.username)
    page.fill("#id_password", DEFAULT_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/sessions/")

    # The session form's script (static/js/session_form.js) runs: the link row follows
    # the type.
    page.goto("/sessions/new/")
    link_row = page.locator("#row-meeting_link")
    expect(link_row).to_be_hidden()
    page.select_option("#id_session_type", "virtual")
    expect(link_row).to_be_visible()
    page.goto(f"/sessions/{session.pk}/")

    for path in [
        "/admin/",
        "/admin/scheduling/session/",
        "/admin/scheduling/session/add/",
        f"/admin/scheduling/session/{session.pk}/change/",
        "/admin/accounts/user/",
    ]:
        page.goto(path)
        page.wait_for_load_state("networkidle")

    # Swagger UI: its bundle and its init script (a URL of ours) run and render the API.
    page.goto("/api/docs/")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Practica API")
    expect(page.locator(".opblock-summary-path", has_text="/api/v1/me/").first).to_be_visible()

    assert violations == []
