"""Login abuse limits: django-axes on every login, DRF throttles on every API call.

Axes counts failed logins per (username, client address) on the web login, the
admin login and the API token endpoint alike; at AXES_FAILURE_LIMIT failures the
pair is locked for AXES_COOLOFF_TIME and every login attempt of that pair, even with
the right password, answers 429 with Retry-After.
"""

from datetime import timedelta

import pytest
from django.conf import settings
from django.http import HttpRequest
from django.test import Client
from rest_framework.throttling import SimpleRateThrottle

from accounts.tests.factories import DEFAULT_PASSWORD, StaffFactory, StudentFactory
from config.login_limits import client_ip

pytestmark = pytest.mark.django_db

LIMIT = settings.AXES_FAILURE_LIMIT
COOLOFF_SECONDS = str(int(settings.AXES_COOLOFF_TIME.total_seconds()))


def test_the_limits_are_configured_as_documented():
    assert settings.AXES_LOCKOUT_PARAMETERS == [["username", "ip_address"]]
    assert settings.AXES_FAILURE_LIMIT == 5
    assert timedelta(minutes=15) == settings.AXES_COOLOFF_TIME
    assert settings.AUTHENTICATION_BACKENDS[0] == "axes.backends.AxesStandaloneBackend"


def _web_login(client: Client, path: str, username: str, password: str, ip: str):
    return client.post(
        path, {"username": username, "password": password}, REMOTE_ADDR=ip, follow=False
    )


@pytest.mark.parametrize("path", ["/accounts/login/", "/admin/login/"])
def test_a_page_login_locks_the_username_and_address_after_the_limit(path):
    user = StaffFactory()
    client = Client()
    for _ in range(LIMIT - 1):
        response = _web_login(client, path, user.username, "wrong", "10.1.1.1")
        assert response.status_code == 200  # the form again, with its error

    locked = _web_login(client, path, user.username, "wrong", "10.1.1.1")
    assert locked.status_code == 429
    assert b"too many login attempts" in locked.content.lower()
    assert locked["Retry-After"] == COOLOFF_SECONDS
    # Locked even with the right password, from that address...
    right = _web_login(client, path, user.username, DEFAULT_PASSWORD, "10.1.1.1")
    assert right.status_code == 429
    assert "_auth_user_id" not in client.session
    # ...but the same user elsewhere, and another user here, still log in.
    elsewhere = _web_login(Client(), path, user.username, DEFAULT_PASSWORD, "10.2.2.2")
    assert elsewhere.status_code == 302
    colleague = StaffFactory()
    here = _web_login(Client(), path, colleague.username, DEFAULT_PASSWORD, "10.1.1.1")
    assert here.status_code == 302


def test_the_token_endpoint_counts_failures_and_answers_429_when_locked(api_client):
    student = StudentFactory()
    wrong = {"username": student.username, "password": "wrong"}
    for _ in range(LIMIT - 1):
        assert api_client.post("/api/v1/auth/token/", wrong, format="json").status_code == 400

    locked = api_client.post("/api/v1/auth/token/", wrong, format="json")
    assert locked.status_code == 429
    assert locked.json() == {
        "detail": "Too many failed login attempts. Try again later.",
        "code": "login_locked_out",
    }
    assert locked["Retry-After"] == COOLOFF_SECONDS
    right = {"username": student.username, "password": DEFAULT_PASSWORD}
    assert api_client.post("/api/v1/auth/token/", right, format="json").status_code == 429
    # Another address is not locked out.
    elsewhere = api_client.post("/api/v1/auth/token/", right, format="json", REMOTE_ADDR="10.9.9.9")
    assert elsewhere.status_code == 200


def test_a_success_before_the_limit_resets_the_count(api_client):
    student = StudentFactory()
    wrong = {"username": student.username, "password": "wrong"}
    right = {"username": student.username, "password": DEFAULT_PASSWORD}
    for _ in range(LIMIT - 1):
        api_client.post("/api/v1/auth/token/", wrong, format="json")
    assert api_client.post("/api/v1/auth/token/", right, format="json").status_code == 200
    for _ in range(LIMIT - 1):
        assert api_client.post("/api/v1/auth/token/", wrong, format="json").status_code == 400


def test_the_lockout_ends_after_the_cool_off(api_client, settings):
    import time

    settings.AXES_COOLOFF_TIME = timedelta(seconds=1)
    student = StudentFactory()
    wrong = {"username": student.username, "password": "wrong"}
    right = {"username": student.username, "password": DEFAULT_PASSWORD}
    for _ in range(LIMIT):
        api_client.post("/api/v1/auth/token/", wrong, format="json")
    assert api_client.post("/api/v1/auth/token/", right, format="json").status_code == 429

    time.sleep(1.2)

    assert api_client.post("/api/v1/auth/token/", right, format="json").status_code == 200


def test_the_test_clients_still_log_in():
    """force_login() bypasses authentication; login() must hand axes a request."""
    user = StaffFactory()
    client = Client()
    assert client.login(request=HttpRequest(), username=user.username, password=DEFAULT_PASSWORD)
    assert client.get("/sessions/").status_code == 200
    other = Client()
    other.force_login(user)
    assert other.get("/sessions/").status_code == 200


@pytest.mark.parametrize(
    ("count", "forwarded", "expected"),
    [
        (0, "6.6.6.6", "10.0.0.1"),  # no proxy trusted: the header is ignored
        (1, "6.6.6.6, 203.0.113.7", "203.0.113.7"),  # the forged left part is ignored
        (2, "6.6.6.6, 203.0.113.7, 10.0.0.2", "203.0.113.7"),
        (1, "", "10.0.0.1"),  # a proxy that sent nothing
    ],
)
def test_the_client_address_comes_from_the_trusted_proxies_only(
    settings, count, forwarded, expected
):
    settings.TRUSTED_PROXY_COUNT = count
    request = HttpRequest()
    request.META = {"REMOTE_ADDR": "10.0.0.1", "HTTP_X_FORWARDED_FOR": forwarded}
    assert client_ip(request) == expected


@pytest.fixture
def low_rates(monkeypatch):
    # DRF reads the rates once, into the throttle class: override them there.
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {"anon": "3/min", "user": "3/min"})


def test_anonymous_requests_over_the_rate_get_429_with_retry_after(api_client, low_rates):
    student = StudentFactory()
    right = {"username": student.username, "password": DEFAULT_PASSWORD}
    statuses = [
        api_client.post("/api/v1/auth/token/", right, format="json").status_code for _ in range(4)
    ]
    assert statuses == [200, 200, 200, 429]
    throttled = api_client.post("/api/v1/auth/token/", right, format="json")
    assert 0 < int(throttled["Retry-After"]) <= 60
    assert "throttled" in throttled.json()["detail"].lower()


def test_a_user_over_the_rate_gets_429_with_retry_after(token_client, low_rates):
    client = token_client(StudentFactory())
    statuses = [client.get("/api/v1/me/").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    assert 0 < int(client.get("/api/v1/me/")["Retry-After"]) <= 60
    # Counted per user: somebody else is not throttled.
    assert token_client(StudentFactory()).get("/api/v1/me/").status_code == 200
