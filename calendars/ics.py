"""Sessions as RFC 5545 events, through the icalendar library.

Times are written in UTC (`...Z`): every client places them in its own zone, so a
session moved across a daylight-saving change keeps its instant, and no VTIMEZONE
has to be kept in step with the tz database.
"""

from datetime import UTC, datetime
from urllib.parse import urlsplit

from django.conf import settings
from django.urls import reverse
from icalendar import Calendar, Event

from accounts.models import User
from scheduling.access import can_see_meeting_link
from scheduling.models import Session

PRODUCT_ID = "-//Practica//Sessions//EN"


def uid_domain() -> str:
    """The host part of every UID: from SITE_URL, not the request, so that a UID never
    changes with the name a client used to reach the server."""
    return urlsplit(settings.SITE_URL).hostname or "practica"


def event_uid(session_id: int) -> str:
    return f"session-{session_id}@{uid_domain()}"


def changed_at(session: Session) -> datetime:
    """When the event as this user sees it last changed: the session or their booking."""
    booking_change = getattr(session, "viewer_booking_updated_at", None)
    if booking_change and booking_change > session.updated_at:
        return booking_change
    return session.updated_at


def event_status(session: Session) -> str:
    if session.status == Session.Status.CANCELLED:
        return "CANCELLED"
    if not session.viewer_teaches and session.viewer_booking_status == "waitlisted":
        return "TENTATIVE"
    return "CONFIRMED"


def _page_url(session: Session) -> str:
    if session.viewer_teaches:
        path = reverse("instructor:session-detail", args=[session.pk])
    else:
        path = reverse("session-detail", args=[session.pk])
    return f"{settings.SITE_URL}{path}"


def _meeting_link(user: User, session: Session) -> str:
    """The link only for those SPEC §4 lets see it: staff, its instructors, confirmed students."""
    if not session.meeting_link:
        return ""
    session.viewer_has_confirmed_booking = session.viewer_booking_status == "confirmed"
    return session.meeting_link if can_see_meeting_link(user, session) else ""


def session_event(user: User, session: Session) -> Event:
    event = Event()
    event.add("uid", event_uid(session.pk))
    event.add("sequence", session.calendar_sequence)
    event.add("dtstamp", changed_at(session).astimezone(UTC))
    event.add("last-modified", changed_at(session).astimezone(UTC))
    event.add("created", session.created_at.astimezone(UTC))
    event.add("dtstart", session.date_start.astimezone(UTC))
    event.add("dtend", session.date_end.astimezone(UTC))
    event.add("summary", session.title)
    event.add("status", event_status(session))
    link = _meeting_link(user, session)
    location = session.location or ("Online" if session.is_virtual else "")
    if location:
        event.add("location", location)
    lines = [session.description.strip()] if session.description.strip() else []
    lines.append(f"Instructor: {session.instructor_name}")
    if link:
        lines.append(f"Join: {link}")
    event.add("description", "\n\n".join(lines))
    event.add("url", _page_url(session))
    return event


def calendar_of(user: User, sessions: list[Session], *, name: str) -> bytes:
    """The VCALENDAR with one VEVENT per session."""
    calendar = Calendar()
    calendar.add("prodid", PRODUCT_ID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", name)
    for session in sessions:
        calendar.add_component(session_event(user, session))
    return calendar.to_ical()
