"""Redis is an accelerator, not a dependency (config/cache.py).

With the cache settings production uses (settings.redis_cache) pointed at a port
where nothing listens, or at a "black hole" that accepts connections and never
answers, every API call, every login (pages, admin, API token) and every page still
works: the throttles fail open with a logged warning and a metric, and the login
lockout lives in the database. Behaviour only here; the timeouts are asserted as
configuration, never measured.
"""

import logging
import socket
from collections.abc import Iterator

import prometheus_client
import pytest
from django.core.cache import cache
from django.core.cache.backends.redis import RedisCacheClient
from django.test import Client

from accounts.tests.factories import DEFAULT_PASSWORD, InstructorFactory, StaffFactory
from config.cache import reset_backoff
from config.settings import redis_cache

pytestmark = pytest.mark.django_db


@pytest.fixture
def black_hole() -> Iterator[str]:
    """A local socket that takes connections (the kernel completes the handshake for its
    backlog) and never reads or writes a byte: a hung Redis."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(128)
    try:
        yield f"redis://127.0.0.1:{server.getsockname()[1]}/0"
    finally:
        server.close()


@pytest.fixture
def dead_port() -> str:
    """A port that was free a moment ago: connections are refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"redis://127.0.0.1:{port}/0"


@pytest.fixture(params=["dead_port", "black_hole"])
def broken_redis(request, settings) -> Iterator[str]:
    url = request.getfixturevalue(request.param)
    reset_backoff()
    settings.CACHES = {"default": redis_cache(url)}
    yield url
    reset_backoff()


def _unavailable(operation: str) -> float:
    value = prometheus_client.REGISTRY.get_sample_value(
        "practica_cache_unavailable_total", {"operation": operation}
    )
    return value or 0.0


def test_the_production_cache_is_the_resilient_one_with_sub_second_timeouts(settings):
    config = redis_cache("redis://127.0.0.1:6379/0")
    assert config["BACKEND"] == "config.cache.ResilientRedisCache"
    assert 0 < settings.REDIS_CONNECT_TIMEOUT < 1
    assert 0 < settings.REDIS_SOCKET_TIMEOUT < 1
    # The options reach redis-py's connection pool, where the sockets are made.
    settings.CACHES = {"default": config}
    pool = cache._cache._get_connection_pool(write=False)
    assert pool.connection_kwargs["socket_connect_timeout"] == settings.REDIS_CONNECT_TIMEOUT
    assert pool.connection_kwargs["socket_timeout"] == settings.REDIS_SOCKET_TIMEOUT
    assert "failure_backoff" not in pool.connection_kwargs


def test_an_api_call_succeeds_and_the_outage_is_logged_and_counted(
    broken_redis, token_client, caplog
):
    user = InstructorFactory()
    before = _unavailable("incr")
    with caplog.at_level(logging.WARNING, logger="config.cache"):
        response = token_client(user).get("/api/v1/me/")
    assert response.status_code == 200
    assert response.json()["username"] == user.username
    # The throttles' counter (config/throttling.py) is the request's first cache call.
    assert _unavailable("incr") > before
    assert "Cache unavailable" in caplog.text


def test_the_token_login_succeeds(broken_redis, api_client):
    user = InstructorFactory()
    response = api_client.post(
        "/api/v1/auth/token/", {"username": user.username, "password": DEFAULT_PASSWORD}
    )
    assert response.status_code == 200
    assert response.json()["token"]


@pytest.mark.parametrize("path", ["/accounts/login/", "/admin/login/"])
def test_a_page_login_succeeds_and_the_pages_answer(broken_redis, path):
    user = StaffFactory()
    client = Client()
    response = client.post(path, {"username": user.username, "password": DEFAULT_PASSWORD})
    assert response.status_code == 302
    assert client.get("/").status_code in {200, 302}
    assert client.get("/admin/").status_code == 200


def test_the_login_lockout_still_holds_without_redis(broken_redis, api_client, settings):
    """The lockout is in the database: a dead Redis neither crashes nor lifts it."""
    user = InstructorFactory()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        wrong = api_client.post(
            "/api/v1/auth/token/", {"username": user.username, "password": "wrong"}
        )
        assert wrong.status_code == 400
    locked = api_client.post(
        "/api/v1/auth/token/", {"username": user.username, "password": "wrong"}
    )
    assert locked.status_code == 429
    assert locked.json()["code"] == "login_locked_out"


def test_after_a_failure_redis_is_left_alone_for_the_backoff(black_hole, settings, monkeypatch):
    """One timeout per process and back-off window, not one per cache call."""
    reset_backoff()
    settings.CACHES = {"default": redis_cache(black_hole)}
    calls = []
    original = RedisCacheClient.get

    def counting_get(self, key, default):
        calls.append(key)
        return original(self, key, default)

    monkeypatch.setattr(RedisCacheClient, "get", counting_get)
    assert cache.get("a", "miss") == "miss"
    assert cache.get("b", "miss") == "miss"
    assert cache.incr("c") == 1
    assert cache.add("d", 1) is True
    assert len(calls) == 1
    reset_backoff()


def test_with_no_backoff_each_call_tries_redis_again(dead_port, settings, monkeypatch):
    reset_backoff()
    settings.CACHES = {"default": {**redis_cache(dead_port)}}
    settings.CACHES["default"]["OPTIONS"] = {
        **settings.CACHES["default"]["OPTIONS"],
        "failure_backoff": 0,
    }
    calls = []
    original = RedisCacheClient.get

    def counting_get(self, key, default):
        calls.append(key)
        return original(self, key, default)

    monkeypatch.setattr(RedisCacheClient, "get", counting_get)
    assert cache.get("a") is None
    assert cache.get("b") is None
    assert len(calls) == 2
    reset_backoff()
