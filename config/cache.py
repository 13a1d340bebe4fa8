"""Redis as an accelerator, not a dependency: a cache that answers "miss" when Redis is away.

Django's RedisCache raises when Redis refuses connections or stops answering, so every
API call (DRF's throttles read and write the cache) became a 500, and a Redis that
accepts connections but never replies held each request for redis-py's default
timeouts. `ResilientRedisCache` keeps Django's backend and changes three things:

- connect and read timeouts well under a second (OPTIONS `socket_connect_timeout`,
  `socket_timeout`; settings.py reads them from REDIS_CONNECT_TIMEOUT and
  REDIS_SOCKET_TIMEOUT);
- a connection or timeout error is logged, counted in
  `practica_cache_unavailable_total` and answered as a miss that fails open: `get`
  returns the default, `add` reports the key added, `incr` counts from zero, writes
  are dropped. DRF's throttles then let the request through rather than refuse it;
- after an error this process leaves Redis alone for `failure_backoff` seconds
  (OPTIONS, default 5), so that a hung Redis costs one timeout per process and
  window, not one per cache call of every request.

Nothing else in Practica needs the cache to be right: the login lockout lives in the
database (AXES_HANDLER), sessions too.
"""

import logging
import time
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache
from prometheus_client import Counter
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ReadOnlyError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

# Refused or dropped connections, timeouts (and, through ConnectionError, a server still
# loading its data set), and a replica that became read-only in a failover. Other Redis
# errors are bugs and still raise.
UNAVAILABLE = (RedisConnectionError, RedisTimeoutError, ReadOnlyError)

CACHE_UNAVAILABLE = Counter(
    "practica_cache_unavailable_total",
    "Cache operations answered as a miss because Redis was unreachable, by operation.",
    ["operation"],
)

T = TypeVar("T")
Version = int | None

# Per process, per server list: every thread's backend instance shares the back-off.
_unavailable_until: dict[str, float] = {}


class ResilientRedisCache(RedisCache):
    """Django's RedisCache that degrades to a miss, fail-open, while Redis is unreachable."""

    def __init__(self, server: str | list[str], params: dict[str, Any]) -> None:
        options = dict(params.get("OPTIONS", {}))
        self.failure_backoff = float(options.pop("failure_backoff", 5.0))
        super().__init__(server, {**params, "OPTIONS": options})
        self._breaker_key = ",".join(self._servers)

    def _guard(self, operation: str, fallback: T, call: Callable[..., T], *args: Any) -> T:
        if time.monotonic() < _unavailable_until.get(self._breaker_key, 0.0):
            CACHE_UNAVAILABLE.labels(operation=operation).inc()
            return fallback
        try:
            return call(*args)
        except UNAVAILABLE as error:
            _unavailable_until[self._breaker_key] = time.monotonic() + self.failure_backoff
            CACHE_UNAVAILABLE.labels(operation=operation).inc()
            logger.warning(
                "Cache unavailable (%s on %s: %s); answering as a miss and leaving Redis "
                "alone for %.1f s. Throttles fail open meanwhile.",
                type(error).__name__,
                operation,
                error,
                self.failure_backoff,
            )
            return fallback

    def get(self, key: str, default: Any = None, version: int | None = None) -> Any:
        return self._guard("get", default, super().get, key, default, version)

    def get_many(self, keys: Iterable[str], version: int | None = None) -> dict[str, Any]:
        return self._guard("get_many", {}, super().get_many, list(keys), version)

    def has_key(self, key: str, version: int | None = None) -> bool:
        return self._guard("has_key", False, super().has_key, key, version)

    def add(
        self, key: str, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: Version = None
    ) -> bool:
        # True: a caller using add() as "first one wins" goes ahead, as if Redis were empty.
        return self._guard("add", True, super().add, key, value, timeout, version)

    def incr(self, key: str, delta: int = 1, version: int | None = None) -> int:
        # A counter that cannot be read counts from zero: under any limit, so fail-open.
        return self._guard("incr", delta, super().incr, key, delta, version)

    def set(
        self, key: str, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: Version = None
    ) -> None:
        self._guard("set", None, super().set, key, value, timeout, version)

    def set_many(
        self, data: dict[str, Any], timeout: Any = DEFAULT_TIMEOUT, version: Version = None
    ) -> list[str]:
        # Django's contract: the keys that could not be stored.
        return self._guard("set_many", list(data), super().set_many, data, timeout, version)

    def touch(self, key: str, timeout: Any = DEFAULT_TIMEOUT, version: Version = None) -> bool:
        return self._guard("touch", False, super().touch, key, timeout, version)

    def delete(self, key: str, version: int | None = None) -> bool:
        return self._guard("delete", False, super().delete, key, version)

    def delete_many(self, keys: Iterable[str], version: int | None = None) -> None:
        self._guard("delete_many", None, super().delete_many, list(keys), version)

    def clear(self) -> bool:
        return self._guard("clear", False, super().clear)


def reset_backoff() -> None:
    """Forget every remembered outage of this process (tests start from a clean slate)."""
    _unavailable_until.clear()
