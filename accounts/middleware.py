"""Pages show times in the signed-in person's own time zone."""

import zoneinfo
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

# Paths that render no page times: reading the user there would cost the probes and the
# metrics scrape the session and user queries they otherwise never run.
NO_PAGE_TIMES = ("/api/", "/healthz", "/readyz", "/metrics", "/static/")


class UserTimeZoneMiddleware:
    """Activate `User.time_zone` for the request; anonymous visitors get settings.TIME_ZONE.

    After AuthenticationMiddleware. The API keeps the default zone: its datetimes carry
    their offset, and a client's output should not change with a profile setting. Rules
    that speak of local dates (a semester's days) use the default zone explicitly.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        zone = self._zone_of(request)
        if zone is None:
            timezone.deactivate()
        else:
            timezone.activate(zone)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()

    @staticmethod
    def _zone_of(request: HttpRequest) -> zoneinfo.ZoneInfo | None:
        if request.path.startswith(NO_PAGE_TIMES):
            return None
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        # A zone removed from tzdata since it was chosen is None: the default, not a 500.
        return user.zone
