"""API throttles that keep one counter per client and window.

DRF's `SimpleRateThrottle` stores every request time of the window in one cache
value and reads and rewrites that whole list on each request: at the user rate
(3,000 a minute) a busy client's request moves a list of thousands of floats to
and from Redis twice. These count instead: one integer per (scope, client, window),
moved by an atomic increment, so a request costs the same whatever the rate.

Windows are fixed, not sliding: a client gets `num_requests` per window, and a
burst across a boundary can reach twice that over one window's length (the usual
price of a fixed window). Each client's windows are shifted by an offset drawn
from its key, so that clients' counters do not all reset on the same second.

The cache is config/cache.py's resilient backend in production: while Redis is
unreachable `incr` answers as if counting from zero and requests go through
(fail-open), as DRF's throttles did on the same backend.
"""

import zlib
from typing import TYPE_CHECKING

from rest_framework import throttling

if TYPE_CHECKING:  # rest_framework.views imports the throttle classes: no cycle at run time.
    from rest_framework.request import Request
    from rest_framework.views import APIView


class FixedWindowRateThrottle(throttling.SimpleRateThrottle):
    def allow_request(self, request: "Request", view: "APIView") -> bool:
        if self.rate is None:
            return True
        key = self.get_cache_key(request, view)
        if key is None:
            return True
        now = self.timer()
        offset = zlib.crc32(key.encode()) % self.duration
        window, into = divmod(now + offset, self.duration)
        self.wait_seconds = self.duration - into
        counter = f"{key}_{int(window)}"
        try:
            count = self.cache.incr(counter)
        except ValueError:  # The window's first request: create the counter with its expiry.
            # Kept a window longer than needed: no request of its window finds it expired.
            if self.cache.add(counter, 1, timeout=2 * self.duration):
                count = 1
            else:  # Another process created it meanwhile.
                count = self.cache.incr(counter)
        return count <= self.num_requests

    def wait(self) -> float:
        return self.wait_seconds


class AnonRateThrottle(FixedWindowRateThrottle, throttling.AnonRateThrottle):
    """Anonymous callers, by address (NUM_PROXIES decides which one)."""


class UserRateThrottle(FixedWindowRateThrottle, throttling.UserRateThrottle):
    """Signed-in callers by user id, anonymous ones by address."""
