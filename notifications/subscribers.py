"""Activities in, email tasks out: run inside the writer's transaction (an outbox).

Each email names its activity and recipient; the task reads everything else
when it runs, so nothing here costs a query except the roster of a changed
session. All task rows of one record()/record_many() go in one INSERT.
"""

from activity import verbs
from activity.models import Activity
from bookings.models import Booking
from config.outbox import Call, enqueue_calls

from . import kinds
from .tasks import schedule_reminder, send_activity_email

CANCELLED_BY = {
    "student": kinds.BOOKING_CANCELLED,
    "staff": kinds.BOOKING_CANCELLED_BY_ACADEMY,
    "session_cancelled": kinds.SESSION_CANCELLED,
}
DIRECT = {
    verbs.BOOKING_CONFIRMED: kinds.BOOKING_CONFIRMED,
    verbs.BOOKING_WAITLISTED: kinds.BOOKING_WAITLISTED,
    verbs.BOOKING_PROMOTED: kinds.BOOKING_PROMOTED,
    verbs.CREDITS_GRANTED: kinds.CREDITS_GRANTED,
}
# A seat that is confirmed gets a reminder before the start.
REMINDED = {verbs.BOOKING_CONFIRMED, verbs.BOOKING_PROMOTED}


def _email(activity: Activity, kind: str, recipient_id: int) -> Call:
    return Call(
        send_activity_email,
        {"kind": kind, "activity_id": activity.pk, "recipient_id": recipient_id},
    )


def _reminder(booking_id: int) -> Call:
    return Call(schedule_reminder, {"booking_id": booking_id})


def _told_changes(activity: Activity) -> bool:
    changes = activity.data.get("changes") or {}
    return any(field in changes for field in kinds.TOLD_CHANGES)


def enqueue_for_activities(activities: list[Activity]) -> None:
    calls: list[Call] = []
    changed: list[Activity] = []
    for activity in activities:
        verb = activity.verb
        if verb in DIRECT and activity.student_id:
            calls.append(_email(activity, DIRECT[verb], activity.student_id))
            if verb in REMINDED:
                calls.append(_reminder(activity.target_id))
        elif verb == verbs.BOOKING_CANCELLED and activity.student_id:
            kind = CANCELLED_BY.get(activity.data.get("cancelled_by"), kinds.BOOKING_CANCELLED)
            calls.append(_email(activity, kind, activity.student_id))
        elif verb == verbs.SESSION_UPDATED and activity.session_id and _told_changes(activity):
            changed.append(activity)
    if changed:
        calls += _session_change_calls(changed)
    enqueue_calls(calls)


def _session_change_calls(changed: list[Activity]) -> list[Call]:
    """Everyone booked or waitlisted on the changed sessions (one query); a moved
    start re-plans the confirmed seats' reminders."""
    roster = list(
        Booking.objects.live()
        .filter(session_id__in={activity.session_id for activity in changed})
        .order_by("pk")
        .values_list("pk", "session_id", "student_id", "status")
    )
    calls: list[Call] = []
    for activity in changed:
        moved = "date_start" in activity.data["changes"]
        for booking_id, session_id, student_id, status in roster:
            if session_id != activity.session_id:
                continue
            calls.append(_email(activity, kinds.SESSION_CHANGED, student_id))
            if moved and status == Booking.Status.CONFIRMED:
                calls.append(_reminder(booking_id))
    return calls
