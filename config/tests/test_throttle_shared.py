"""Throttling counts across server processes when REDIS_URL is set (and not without it).

Two real gunicorn servers on loopback share one Redis; anonymous requests
alternate between them and the combined count hits the limit. Each run sends
from its own loopback address (127.x.y.z), so that suites running at the same
time on this machine never share a throttle key, and removes only its own keys
afterwards instead of flushing a database other runs may be using.
"""

import http.client
import json
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from ops.local_server import GunicornServer, production_environment

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = "redis://127.0.0.1:6379/15"
LIMIT = 5
START_REDIS = (
    'redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" '
    "--appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log"
)


def _server_env(database_url: str, redis_url: str | None) -> dict[str, str]:
    return production_environment(
        database_url,
        # A day's window: the counters' windows are fixed (config/throttling.py), and a
        # boundary falling inside the few seconds of a test would restart the count.
        THROTTLE_ANON_RATE=f"{LIMIT}/day",
        # These failed logins count for the throttle only, not for django-axes' lockout.
        AXES_FAILURE_LIMIT="1000",
        **({"REDIS_URL": redis_url} if redis_url else {}),
    )


@pytest.fixture(scope="module")
def redis_db() -> redis.Redis:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.ConnectionError as error:
        pytest.fail(
            f"Redis does not answer on 127.0.0.1:6379 ({error}); this test needs it and must "
            f"not be skipped. Start it with: {START_REDIS}",
            pytrace=False,
        )
    return client


@pytest.fixture(scope="module")
def database_url(tmp_path_factory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('throttle') / 'db.sqlite3'}"
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=_server_env(url, None),
        check=True,
        timeout=300,
    )
    return url


@pytest.fixture
def client_address(redis_db) -> Iterator[str]:
    address = (
        f"127.{secrets.randbelow(254) + 1}.{secrets.randbelow(256)}.{secrets.randbelow(254) + 1}"
    )
    yield address
    # DRF's anon and user throttles both key an anonymous caller by its address.
    for key in redis_db.scan_iter(match=f"*throttle_*_{address}_*"):
        redis_db.delete(key)


def _two_servers(env: dict[str, str]) -> tuple[GunicornServer, GunicornServer]:
    servers = (GunicornServer(env, 1), GunicornServer(env, 1))
    try:
        for server in servers:
            server.wait_ready()
    except Exception:
        for server in servers:
            server.stop()
        raise
    return servers


def _failed_login(port: int, source: str) -> int:
    """An anonymous request that the anon throttle counts: a login without credentials.

    Refused by validation before any password is checked, so that the login lockout
    (django-axes, which counts failed passwords) stays out of the count."""
    connection = http.client.HTTPConnection(
        "127.0.0.1", port, timeout=10, source_address=(source, 0)
    )
    connection.request(
        "POST",
        "/api/v1/auth/token/",
        body=json.dumps({}),
        headers={"Content-Type": "application/json", "Accept": "application/json"},
    )
    status = connection.getresponse().status
    connection.close()
    return status


def _alternate(
    servers: tuple[GunicornServer, GunicornServer], source: str, count: int
) -> list[int]:
    return [_failed_login(servers[i % 2].port, source) for i in range(count)]


def test_the_anonymous_limit_is_shared_by_two_servers_through_redis(
    database_url, client_address, redis_db
):
    servers = _two_servers(_server_env(database_url, REDIS_URL))
    try:
        statuses = _alternate(servers, client_address, 2 * LIMIT)
    finally:
        for server in servers:
            server.stop()
    # Five refused logins in all, then both servers throttle: one counter between them.
    assert statuses == [400] * LIMIT + [429] * LIMIT
    # One integer per scope and window, whatever the number of requests (not a list of
    # their times): the anon and the user throttle each counted all ten.
    counters = {
        key.decode().split(":")[-1].split("_")[1]: redis_db.get(key)
        for key in redis_db.scan_iter(match=f"*throttle_*_{client_address}_*")
    }
    assert counters == {"anon": b"10", "user": b"10"}


def test_without_redis_each_server_counts_on_its_own(database_url, client_address):
    """The control: with per-process caches the same traffic gets twice the limit through."""
    servers = _two_servers(_server_env(database_url, None))
    try:
        statuses = _alternate(servers, client_address, 2 * LIMIT + 2)
    finally:
        for server in servers:
            server.stop()
    assert statuses == [400] * (2 * LIMIT) + [429, 429]
