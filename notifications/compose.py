"""What each email says: subject, text and HTML from templates/email/, read at send time.

Times are shown in the recipient's zone (`User.time_zone`, activated by the delivery),
the zone their pages show. A meeting link appears only for someone whose seat is confirmed when
the email is written.
"""

from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts.models import User
from activity.models import Activity
from bookings.models import Booking
from scheduling.models import Session

from . import kinds
from .delivery import Message, Skip

CHANGE_LABELS = {
    "date_start": "Starts",
    "date_end": "Ends",
    "location": "Place",
    "session_type": "Type",
    "meeting_link": "Meeting link",
}


def absolute(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def when(moment: datetime) -> str:
    """'Mon 3 Mar 18:00' in the current (the recipient's) zone: short enough for a subject line."""
    local = timezone.localtime(moment)
    return f"{local:%a} {local.day} {local:%b %H:%M}"


def _render(kind: str, subject: str, user: User, context: dict[str, Any]) -> Message:
    # One line: a title typed with a line break would otherwise be refused as a header.
    subject = " ".join(subject.split())
    context = {
        **context,
        "subject": subject,
        "name": user.get_full_name() or user.username,
        "site_url": settings.SITE_URL,
        "settings_url": absolute(reverse("notifications:settings")),
        "time_zone": timezone.get_current_timezone_name(),
    }
    return Message(
        subject=subject,
        text=render_to_string(f"email/{kind}.txt", context),
        html=render_to_string(f"email/{kind}.html", context),
    )


def _live_status(session_id: int, user: User) -> str | None:
    return (
        Booking.objects.live()
        .filter(session_id=session_id, student=user)
        .values_list("status", flat=True)
        .first()
    )


def _session_context(session: Session, *, show_link: bool) -> dict[str, Any]:
    return {
        "session": session,
        "type": session.get_session_type_display(),
        "meeting_link": session.meeting_link if show_link else "",
    }


def activity_email(kind: str, activity: Activity, user: User) -> Message:
    if kind == kinds.SESSION_CHANGED:
        return _session_changed(activity, user)
    if kind == kinds.CREDITS_GRANTED:
        subject = f"{activity.data['amount']} credits added to your balance"
        return _render(kind, subject, user, {"data": activity.data, "balance": user.credit_balance})
    booking = Booking.objects.select_related("session").get(pk=activity.target_id)
    session = booking.session
    confirmed = booking.status == Booking.Status.CONFIRMED
    context = {**_session_context(session, show_link=confirmed), "data": activity.data}
    title, at = session.title, when(session.date_start)
    if kind == kinds.BOOKING_CONFIRMED:
        subject = f"Booked: {title}, {at}"
    elif kind == kinds.BOOKING_WAITLISTED:
        subject = f"On the waitlist (#{activity.data.get('waitlist_position')}): {title}, {at}"
    elif kind == kinds.BOOKING_PROMOTED:
        subject = f"A seat freed up, you are in: {title}, {at}"
    elif kind == kinds.BOOKING_CANCELLED:
        subject = f"Booking cancelled: {title}, {at}"
        context["late"] = (
            activity.data.get("was") == Booking.Status.CONFIRMED
            and not activity.data.get("credits_refunded")
            and booking.credits_charged > 0
        )
        context["cancellation_hours"] = settings.BOOKING_CANCELLATION_HOURS
    elif kind == kinds.BOOKING_CANCELLED_BY_ACADEMY:
        subject = f"The academy cancelled your booking: {title}, {at}"
    elif kind == kinds.SESSION_CANCELLED:
        subject = f"Session cancelled: {title}, {at}"
    else:
        raise ValueError(f"No email for kind {kind!r}.")
    return _render(kind, subject, user, context)


def _change_value(field: str, value: Any) -> str:
    if value in (None, ""):
        return "none"
    if field in {"date_start", "date_end"}:
        moment = parse_datetime(value) if isinstance(value, str) else value
        if moment is not None:
            local = timezone.localtime(moment)
            return f"{local:%a} {local.day} {local:%b %Y, %H:%M}"
    if field == "session_type":
        return dict(Session.SessionType.choices).get(value, str(value))
    return str(value)


def _session_changed(activity: Activity, user: User) -> Message:
    session = Session.objects.get(pk=activity.session_id)
    status = _live_status(session.pk, user)
    if status is None:
        raise Skip("No longer booked on the session.")
    confirmed = status == Booking.Status.CONFIRMED
    if not confirmed and not getattr(user, kinds.WAITLIST_CHANGES_FLAG):
        raise Skip("Turned off by the recipient (waitlisted).")
    changes = [
        {
            "label": CHANGE_LABELS[field],
            "old": _change_value(field, old),
            "new": _change_value(field, new),
        }
        for field, (old, new) in activity.data["changes"].items()
        # A link is news only to a confirmed seat; to anyone else it is not shown at all.
        if field in CHANGE_LABELS and (field != "meeting_link" or confirmed)
    ]
    if not changes:
        raise Skip("Nothing this recipient is told about changed.")
    moved = "date_start" in activity.data["changes"]
    subject = (
        f"Moved: {session.title}, now {when(session.date_start)}"
        if moved
        else f"Changed: {session.title}, {when(session.date_start)}"
    )
    context = {
        **_session_context(session, show_link=confirmed),
        "changes": changes,
        "waitlisted": not confirmed,
    }
    return _render(kinds.SESSION_CHANGED, subject, user, context)


def reminder(booking_id: int, start: datetime, user: User) -> Message:
    booking = Booking.objects.select_related("session").get(pk=booking_id)
    session = booking.session
    if booking.status != Booking.Status.CONFIRMED:
        raise Skip("The booking is no longer confirmed.")
    if session.status == Session.Status.CANCELLED:
        raise Skip("The session was cancelled.")
    if session.date_start != start:
        raise Skip("The session moved: its reminder is planned at the new time.")
    subject = f"Reminder: {session.title}, {when(session.date_start)}"
    return _render(kinds.REMINDER, subject, user, _session_context(session, show_link=True))


def password_reset(user: User) -> Message:
    if not user.is_active or not user.has_usable_password():
        raise Skip("The account cannot reset its password.")
    path = reverse(
        "password_reset_confirm",
        kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": default_token_generator.make_token(user),
        },
    )
    return _render(
        kinds.PASSWORD_RESET,
        "Reset your Practica password",
        user,
        {"reset_url": absolute(path), "username": user.get_username()},
    )
