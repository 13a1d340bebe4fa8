"""The production edge in the response headers and the markup.

- A Content-Security-Policy on every response, pages, admin and Swagger UI included, that
  allows scripts and styles from our own origin only: no 'unsafe-inline', no
  'unsafe-eval'. And nothing in the markup that such a policy would block: no inline
  <script> or <style>, no event-handler or style attributes, no javascript: URLs.
- `Cache-Control: no-store` on the answers that carry credentials.
"""

from html.parser import HTMLParser

import pytest
from django.test import Client

from accounts.tests.factories import DEFAULT_PASSWORD, InstructorFactory, StaffFactory
from bookings.tests.factories import BookingFactory
from scheduling.tests.factories import SemesterFactory, SessionFactory

pytestmark = pytest.mark.django_db


def _policy(response) -> dict[str, list[str]]:
    header = response.headers.get("Content-Security-Policy")
    assert header, f"no Content-Security-Policy on {response.request['PATH_INFO']}"
    directives = {}
    for part in header.split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


class _InlineFinder(HTMLParser):
    """Collects what a policy without 'unsafe-inline' refuses to run or apply."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []
        self._in_inline_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "style":
            self.found.append("<style> element")
        # Executable inline scripts; a JSON data block (json_script) is not executed.
        if (
            tag == "script"
            and "src" not in attributes
            and (attributes.get("type") or "text/javascript")
            in {"text/javascript", "module", "application/javascript"}
        ):
            self._in_inline_script = True
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"<{tag} {name}=...>")
            if name == "style":
                self.found.append(f"<{tag} style={value!r}>")
            if name in {"href", "src", "action"} and (value or "").lower().startswith(
                "javascript:"
            ):
                self.found.append(f"<{tag} {name}={value!r}>")

    def handle_data(self, data: str) -> None:
        if self._in_inline_script and data.strip():
            self.found.append(f"inline <script>: {data.strip()[:60]!r}")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_inline_script = False


def _inline_code(html: str) -> list[str]:
    finder = _InlineFinder()
    finder.feed(html)
    return finder.found


def _assert_strict_policy(response) -> None:
    policy = _policy(response)
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    header = response.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in header
    assert "unsafe-eval" not in header


@pytest.fixture
def staff_client() -> Client:
    client = Client()
    client.force_login(StaffFactory())
    return client


@pytest.fixture
def instructor_world():
    semester = SemesterFactory()
    session = SessionFactory(semester=semester, instructor=semester.master_instructor, capacity=4)
    BookingFactory(session=session)
    client = Client()
    client.force_login(semester.master_instructor)
    return client, session


@pytest.mark.parametrize("path", ["/accounts/login/", "/admin/login/", "/api/docs/"])
def test_anonymous_pages_carry_the_policy_and_no_inline_code(path):
    response = Client().get(path)
    assert response.status_code == 200
    _assert_strict_policy(response)
    assert _inline_code(response.content.decode()) == []


@pytest.mark.parametrize(
    "path",
    [
        "/admin/",
        "/admin/accounts/user/",
        "/admin/accounts/user/add/",
        "/admin/scheduling/session/",
        "/admin/scheduling/session/add/",
        "/admin/bookings/booking/",
        "/admin/bookings/credittransaction/",
        "/admin/password_change/",
        "/api/docs/",
    ],
)
def test_admin_and_swagger_ui_carry_the_policy_and_no_inline_code(staff_client, path):
    response = staff_client.get(path)
    assert response.status_code == 200
    _assert_strict_policy(response)
    assert _inline_code(response.content.decode()) == []


def test_an_admin_change_page_carries_no_inline_code(staff_client):
    session = SessionFactory()
    response = staff_client.get(f"/admin/scheduling/session/{session.pk}/change/")
    assert response.status_code == 200
    _assert_strict_policy(response)
    assert _inline_code(response.content.decode()) == []


def test_the_instructor_pages_carry_the_policy_and_no_inline_code(instructor_world):
    client, session = instructor_world
    for path in [
        "/sessions/",
        "/sessions/new/",
        f"/sessions/{session.pk}/",
        f"/sessions/{session.pk}/edit/",
        f"/sessions/{session.pk}/delete/",
    ]:
        response = client.get(path)
        assert response.status_code == 200, path
        _assert_strict_policy(response)
        assert _inline_code(response.content.decode()) == [], path


def test_the_occupancy_bar_is_drawn_by_a_class_not_a_style_attribute(instructor_world):
    client, _session = instructor_world  # one confirmed booking of four seats: 25%
    response = client.get("/sessions/")
    assert b'<span class="w5"></span>' in response.content


def test_swagger_ui_loads_its_init_script_from_a_url_of_our_own(staff_client):
    page = staff_client.get("/api/docs/").content.decode()
    assert '<script src="/api/docs/?script="></script>' in page
    assert "/static/css/swagger_ui.css" in page
    script = staff_client.get("/api/docs/?script=")
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert b"SwaggerUIBundle(" in script.content
    assert b'url: "/api/schema/"' in script.content


@pytest.mark.parametrize("path", ["/api/v1/me/", "/api/schema/", "/healthz", "/no-such-page/"])
def test_other_responses_carry_the_policy_too(staff_client, path):
    response = staff_client.get(path)
    _assert_strict_policy(response)


def test_the_token_endpoint_answer_is_never_stored(api_client):
    user = InstructorFactory()
    response = api_client.post(
        "/api/v1/auth/token/", {"username": user.username, "password": DEFAULT_PASSWORD}
    )
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    assert "private" in response["Cache-Control"]
    refused = api_client.post("/api/v1/auth/token/", {"username": user.username})
    assert refused.status_code == 400
    assert "no-store" in refused["Cache-Control"]


def test_the_me_answer_is_never_stored(token_client):
    response = token_client(InstructorFactory()).get("/api/v1/me/")
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]


def test_the_favicon_is_served_from_our_static_files(client):
    response = client.get("/favicon.ico")

    assert response.status_code == 301
    assert client.get(response["Location"]).status_code == 200


def test_a_bearer_token_is_told_to_use_the_token_scheme(api_client):
    api_client.credentials(HTTP_AUTHORIZATION="Bearer 9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b")

    response = api_client.get("/api/v1/me/")

    assert response.status_code == 401
    assert "Authorization: Token <key>" in response.json()["detail"]
