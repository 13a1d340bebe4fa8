"""The queue's tasks. Arguments are ids only: a task reads the state when it runs.

`django_tasks` is the backport of Django 6's `django.tasks`; moving to Django 6
changes the import below and nothing else.
"""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django_tasks import task

from activity.models import Activity
from bookings.models import Booking
from config.outbox import Call, enqueue_calls
from scheduling.models import Session

from . import compose, kinds
from .delivery import deliver


def reminder_lead() -> timedelta:
    return timedelta(hours=settings.REMINDER_LEAD_HOURS)


@task()
def send_activity_email(*, kind: str, activity_id: int, recipient_id: int, attempt: int = 1) -> str:
    """The email telling `recipient_id` about one activity; idempotent per (activity, recipient)."""
    activity = Activity.objects.filter(pk=activity_id).first()
    if activity is None:
        return "no such activity"
    return deliver(
        key=f"{activity_id}:{recipient_id}",
        kind=kind,
        recipient_id=recipient_id,
        queued_at=activity.created_at,
        compose=lambda user: compose.activity_email(kind, activity, user),
        attempt=attempt,
        retry=lambda next_attempt, when: Call(
            send_activity_email,
            {
                "kind": kind,
                "activity_id": activity_id,
                "recipient_id": recipient_id,
                "attempt": next_attempt,
            },
            when,
        ),
    )


@task()
def schedule_reminder(*, booking_id: int) -> str:
    """Plan the reminder of a confirmed seat at its session's current start.

    Enqueued with the booking (or the move) in its transaction; it reads the start
    when it runs, so the booking itself pays no query for it.
    """
    booking = Booking.objects.select_related("session").filter(pk=booking_id).first()
    if booking is None or booking.status != Booking.Status.CONFIRMED:
        return "not confirmed"
    session = booking.session
    if session.status == Session.Status.CANCELLED:
        return "session cancelled"
    due = session.date_start - reminder_lead()
    if due <= timezone.now():
        # Booked (or moved) inside the reminder window: the email just sent says when.
        return "inside the reminder window"
    kwargs = {"booking_id": booking_id, "starts_at": session.date_start.isoformat()}
    enqueue_calls([Call(send_reminder, kwargs, due)])
    return f"due {due.isoformat()}"


@task()
def send_reminder(*, booking_id: int, starts_at: str, attempt: int = 1) -> str:
    """Remind a confirmed student; at most once per booking and start time.

    A session moved since planning has a newer reminder at its new time; this one
    then sends nothing, as it does for a cancelled booking or session.
    """
    start = parse_datetime(starts_at)
    assert start is not None  # written by schedule_reminder from an aware datetime
    student_id = Booking.objects.filter(pk=booking_id).values_list("student_id", flat=True).first()
    if student_id is None:
        return "no such booking"
    return deliver(
        key=f"reminder:{booking_id}:{start.isoformat()}",
        kind=kinds.REMINDER,
        recipient_id=student_id,
        queued_at=start - reminder_lead(),
        compose=lambda user: compose.reminder(booking_id, start, user),
        attempt=attempt,
        retry=lambda next_attempt, when: Call(
            send_reminder,
            {"booking_id": booking_id, "starts_at": starts_at, "attempt": next_attempt},
            when,
        ),
    )


@task()
def send_password_reset(
    *, user_id: int, request_id: str, requested_at: str, attempt: int = 1
) -> str:
    """The password-reset link, its token made when the email is sent (none sits in the queue)."""
    requested = parse_datetime(requested_at)
    assert requested is not None
    return deliver(
        key=f"password-reset:{request_id}",
        kind=kinds.PASSWORD_RESET,
        recipient_id=user_id,
        queued_at=requested,
        compose=compose.password_reset,
        attempt=attempt,
        retry=lambda next_attempt, when: Call(
            send_password_reset,
            {
                "user_id": user_id,
                "request_id": request_id,
                "requested_at": requested_at,
                "attempt": next_attempt,
            },
            when,
        ),
    )
