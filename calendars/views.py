"""The feeds: `/calendar/<token>.ics` (subscribed to) and one session's `.ics` download."""

import hashlib
from datetime import datetime

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.cache import get_conditional_response
from django.utils.http import http_date
from django.views import View

from .ics import calendar_of, changed_at
from .models import CalendarToken
from .selectors import downloadable_session, feed_sessions
from .services import calendar_token_rotate

CONTENT_TYPE = "text/calendar; charset=utf-8"


def ics_response(request: HttpRequest, body: bytes, last_modified: datetime) -> HttpResponse:
    """The calendar, or 304 when the client's copy is current.

    The ETag is a hash of the body itself, so it changes with anything a client would see
    (a booking promoted, a link now shown, a session gone) and with nothing else; the
    body costs the same fixed queries whatever the number of events. Last-Modified is the
    newest change among the events shown (a session leaving the feed moves no
    timestamp): If-None-Match, which calendar clients send, takes precedence over it.
    """
    etag = f'"{hashlib.sha256(body).hexdigest()[:32]}"'
    timestamp = int(last_modified.timestamp())
    not_modified = get_conditional_response(request, etag=etag, last_modified=timestamp)
    response = not_modified or HttpResponse(body, content_type=CONTENT_TYPE)
    response["ETag"] = etag
    response["Last-Modified"] = http_date(timestamp)
    # A secret address: no shared cache keeps it; clients revalidate with the ETag.
    response["Cache-Control"] = "private, no-cache"
    return response


class FeedView(View):
    """The subscribed calendar. The secret in the address is the only credential: an
    unknown or rotated token, or a deactivated account, is a 404."""

    def get(self, request: HttpRequest, token: str) -> HttpResponse:
        found = (
            CalendarToken.objects.select_related("user")
            .filter(key=token, user__is_active=True)
            .first()
        )
        if found is None:
            raise Http404("No such calendar.")
        user = found.user
        sessions = feed_sessions(user)
        body = calendar_of(user, sessions, name=f"Practica: {user.display_name}")
        newest = max((changed_at(s) for s in sessions), default=None)
        changed = max(filter(None, [newest, found.rotated_at, found.created_at]))
        return ics_response(request, body, changed)


class SessionIcsView(LoginRequiredMixin, View):
    """One session as an `.ics` file, for anyone who may see the session (404 otherwise)."""

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        session = downloadable_session(request.user, pk)
        if session is None:
            raise Http404("No such session.")
        body = calendar_of(request.user, [session], name=session.title)
        response = ics_response(request, body, changed_at(session))
        response["Content-Disposition"] = f'attachment; filename="session-{session.pk}.ics"'
        return response


class CalendarRotatePageView(LoginRequiredMixin, View):
    """The pages' "New address" button: the same service as POST /api/v1/me/calendar/rotate/."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest) -> HttpResponse:
        calendar_token_rotate(user=request.user)
        messages.success(request, "Your calendar has a new address; the old one no longer works.")
        return redirect("instructor:session-list")
