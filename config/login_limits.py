"""How django-axes sees a client, and what it answers once one is locked out."""

from typing import Any

from axes.helpers import get_cool_off, get_lockout_message
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

from .errors import LOGIN_LOCKED_OUT


def client_ip(request: HttpRequest) -> str | None:
    """REMOTE_ADDR, or behind TRUSTED_PROXY_COUNT proxies the address the outermost one saw.

    Each proxy appends the address it received the request from to X-Forwarded-For, so
    the entry `count` places from the right was written by our own outermost proxy;
    anything to its left came from the client and can be forged. Without the right count
    every client behind the proxy shares one address, and the (username, address)
    lockout becomes a per-username one that anybody can trigger.
    """
    count = settings.TRUSTED_PROXY_COUNT
    if count > 0:
        hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        hops = [hop for hop in hops if hop]
        if len(hops) >= count:
            return hops[-count]
    return request.META.get("REMOTE_ADDR")


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None, credentials: Any = None
) -> HttpResponse:
    """429 with Retry-After for the pages, the admin and the API token endpoint alike;
    JSON `{"detail", "code"}` under /api/, as every other API error."""
    cool_off = get_cool_off(request)
    retry_after = str(int(cool_off.total_seconds())) if cool_off else None
    if request.path.startswith("/api/"):
        response: HttpResponse = JsonResponse(
            {
                "detail": "Too many failed login attempts. Try again later.",
                "code": LOGIN_LOCKED_OUT,
            },
            status=429,
        )
    else:
        response = HttpResponse(get_lockout_message(), status=429, content_type="text/plain")
    if retry_after:
        response["Retry-After"] = retry_after
    return response
