from unittest import mock

import pytest
from django.db import OperationalError

from config.cache import reset_backoff

pytestmark = pytest.mark.django_db


def test_healthz_and_readyz_answer_ok(client):
    assert client.get("/healthz").json() == {"status": "ok", "database": "ok"}
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "database": "ok",
        "migrations": "ok",
        "cache": "ok",
        "oldest_ready_task_seconds": 0.0,
        "ready_tasks": 0,
    }


def test_readyz_fails_clearly_when_the_database_is_down(client):
    with mock.patch(
        "django.db.backends.utils.CursorWrapper.execute", side_effect=OperationalError("down")
    ):
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["database"] == "failing"
    assert response.json()["migrations"] == "failing"


@pytest.mark.parametrize(
    "backend",
    [
        # Production's (config/cache.py), which answers "miss" while Redis is away...
        "config.cache.ResilientRedisCache",
        # ...and Django's, which raises.
        "django.core.cache.backends.redis.RedisCache",
    ],
)
def test_readyz_reports_a_cache_outage_as_degraded_and_stays_in_rotation(client, settings, backend):
    """Every instance shares one Redis: a 503 here would pull all of them at once, while
    the service works without it."""
    reset_backoff()
    settings.CACHES = {
        "default": {
            "BACKEND": backend,
            # Nothing listens on port 1: the connection is refused at once.
            "LOCATION": "redis://127.0.0.1:1/0",
        }
    }
    response = client.get("/readyz")
    reset_backoff()
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "database": "ok",
        "migrations": "ok",
        "cache": "degraded",
        "oldest_ready_task_seconds": 0.0,
        "ready_tasks": 0,
    }


def test_the_database_stays_a_hard_dependency_when_the_cache_is_down_too(client, settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "config.cache.ResilientRedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
        }
    }
    with mock.patch(
        "django.db.backends.utils.CursorWrapper.execute", side_effect=OperationalError("down")
    ):
        response = client.get("/readyz")
    reset_backoff()
    assert response.status_code == 503
    assert response.json()["database"] == "failing"
    assert response.json()["cache"] == "degraded"


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_probes_answer_over_plain_http_when_https_is_enforced(client, settings, path):
    """A probe sent straight to the app port (no TLS, no X-Forwarded-Proto) sees the truth."""
    settings.SECURE_SSL_REDIRECT = True
    response = client.get(path)
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_everything_else_is_still_redirected_to_https(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    for path in ["/api/v1/me/", "/accounts/login/", "/admin/", "/metrics", "/healthz/x"]:
        response = client.get(path)
        assert response.status_code == 301, path
        assert response["Location"].startswith("https://"), path


def test_readyz_reports_unapplied_migrations(client):
    with mock.patch("config.health.MigrationExecutor") as executor:
        executor.return_value.migration_plan.return_value = [("bookings", "0099_pending")]
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["migrations"] == "failing"
