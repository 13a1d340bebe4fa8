"""A hung Redis under production settings and a real gunicorn: nothing answers 500.

The in-process tests (test_redis_outage.py) cover each surface; this one runs the
production configuration end to end (DEBUG off, config/gunicorn.py, REDIS_URL pointing
at a local socket that accepts connections and never answers): a token login, an API
call, a page login and the readiness probe all succeed, and the worker logs why.
"""

import http.client
import json
import re
import secrets
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ops.local_server import GunicornServer, production_environment

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "a-long-staff-password-for-the-outage-test"


@pytest.fixture(scope="module")
def black_hole() -> Iterator[str]:
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(128)
    try:
        yield f"redis://127.0.0.1:{server.getsockname()[1]}/0"
    finally:
        server.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory, black_hole) -> Iterator[GunicornServer]:
    database_url = f"sqlite:///{tmp_path_factory.mktemp('outage') / 'db.sqlite3'}"
    env = production_environment(database_url, REDIS_URL=black_hole)
    for command in (
        ["migrate", "--noinput", "-v", "0"],
        ["createsuperuser", "--noinput", "--username", "ops", "--email", "ops@example.test"],
    ):
        subprocess.run(
            [sys.executable, "manage.py", *command],
            cwd=ROOT,
            env={**env, "DJANGO_SUPERUSER_PASSWORD": PASSWORD},
            check=True,
            timeout=300,
        )
    gunicorn = GunicornServer.started(env, 1)
    yield gunicorn
    gunicorn.stop()


def _request(
    server: GunicornServer, method: str, path: str, body: str = "", headers: dict | None = None
) -> tuple[int, dict[str, str], str]:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        connection.request(method, path, body=body or None, headers=headers or {})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read().decode()
    finally:
        connection.close()


def _cookie(headers: dict[str, str], name: str) -> str:
    match = re.search(rf"{name}=([^;]+)", headers.get("Set-Cookie", ""))
    assert match, headers
    return match.group(1)


def test_logins_api_calls_and_probes_work_while_redis_hangs(server):
    status, _, body = _request(
        server,
        "POST",
        "/api/v1/auth/token/",
        json.dumps({"username": "ops", "password": PASSWORD}),
        {"Content-Type": "application/json"},
    )
    assert status == 200, body
    token = json.loads(body)["token"]

    status, _, body = _request(
        server, "GET", "/api/v1/me/", headers={"Authorization": f"Token {token}"}
    )
    assert status == 200, body
    assert json.loads(body)["username"] == "ops"

    # A CSRF secret of our own in the cookie and the form: the login page itself is not
    # rendered here (its static files need collectstatic; test_redis_outage.py renders it).
    csrf = secrets.token_hex(16)
    status, headers, _ = _request(
        server,
        "POST",
        "/accounts/login/",
        f"username=ops&password={PASSWORD}&csrfmiddlewaretoken={csrf}",
        {"Content-Type": "application/x-www-form-urlencoded", "Cookie": f"csrftoken={csrf}"},
    )
    assert status == 302
    assert _cookie(headers, "sessionid")

    status, _, body = _request(server, "GET", "/readyz")
    assert status == 200
    assert json.loads(body)["cache"] == "degraded"

    assert "Cache unavailable (TimeoutError" in server.stop()
