"""Unlocking a locked-out user with the documented commands, configured as production is.

Production sets REDIS_URL. The lockout must then still live where `axes_reset_username`
and `axes_reset` look: with django-axes' cache handler the first found nothing and the
second raised NotImplementedError, so nobody could be unlocked before the cool-off.
"""

import io

import pytest
from axes.handlers.proxy import AxesProxyHandler
from django.core.management import call_command

from accounts.tests.factories import DEFAULT_PASSWORD, InstructorFactory
from config.cache import reset_backoff
from config.settings import redis_cache
from config.tests.production_settings import production_setting

pytestmark = pytest.mark.django_db


@pytest.fixture
def production_like(settings):
    """The handler and the cache that production computes with REDIS_URL set."""
    url = "redis://127.0.0.1:6379/15"
    settings.AXES_HANDLER = production_setting("AXES_HANDLER", REDIS_URL=url)
    reset_backoff()
    settings.CACHES = {"default": redis_cache(url)}
    # django-axes keeps the handler it built; build it again from these settings.
    AxesProxyHandler.implementation = None
    yield
    AxesProxyHandler.implementation = None


def _lock_out(api_client, username: str, limit: int) -> None:
    for _ in range(limit):
        api_client.post("/api/v1/auth/token/", {"username": username, "password": "wrong"})
    right = api_client.post(
        "/api/v1/auth/token/", {"username": username, "password": DEFAULT_PASSWORD}
    )
    assert right.status_code == 429


def _login(api_client, username: str) -> int:
    response = api_client.post(
        "/api/v1/auth/token/", {"username": username, "password": DEFAULT_PASSWORD}
    )
    return response.status_code


def test_the_lockout_is_kept_in_the_database_with_redis_too():
    assert (
        production_setting("AXES_HANDLER", REDIS_URL="redis://127.0.0.1:6379/0")
        == "axes.handlers.database.AxesDatabaseHandler"
    )


def test_axes_reset_username_unlocks_a_locked_out_user(production_like, api_client, settings):
    user, bystander = InstructorFactory(), InstructorFactory()
    _lock_out(api_client, user.username, settings.AXES_FAILURE_LIMIT)
    _lock_out(api_client, bystander.username, settings.AXES_FAILURE_LIMIT)

    out = io.StringIO()
    call_command("axes_reset_username", user.username, stdout=out)

    assert "1 attempts removed" in out.getvalue()
    assert _login(api_client, user.username) == 200
    # Only that user: the other stays locked out.
    assert _login(api_client, bystander.username) == 429


def test_axes_reset_unlocks_everybody(production_like, api_client, settings):
    users = [InstructorFactory(), InstructorFactory()]
    for user in users:
        _lock_out(api_client, user.username, settings.AXES_FAILURE_LIMIT)

    out = io.StringIO()
    call_command("axes_reset", stdout=out)

    assert "2 attempts removed" in out.getvalue()
    assert [_login(api_client, user.username) for user in users] == [200, 200]
