"""The body of a delivery: what happened, its ids, and the object as staff read it in the API."""

from types import SimpleNamespace
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone

from activity.models import Activity
from bookings.api.serializers import BookingSerializer
from bookings.models import Booking
from scheduling.api.serializers import SessionSerializer
from scheduling.models import Session

from .models import WebhookDelivery

PING = "webhook.ping"
# Serializers see the object as staff do (the meeting link included).
_STAFF = SimpleNamespace(request=SimpleNamespace(user=SimpleNamespace(is_staff=True, pk=None)))


def _session(pk: int) -> dict[str, Any] | None:
    session = Session.objects.filter(pk=pk).with_stats().with_display_columns().first()
    return SessionSerializer(session, context=vars(_STAFF)).data if session else None


def _booking(pk: int) -> dict[str, Any] | None:
    booking = (
        Booking.objects.filter(pk=pk)
        .with_waitlist_position()
        .select_related("session", "student")
        .first()
    )
    return BookingSerializer(booking).data if booking else None


RENDERERS = {"scheduling.session": _session, "bookings.booking": _booking}


def render(delivery: WebhookDelivery) -> dict[str, Any]:
    """The payload, rendered when the delivery is first attempted (the object as it is
    then; `data` says what the event changed)."""
    if delivery.activity_id is None:
        return {
            "type": PING,
            "timestamp": timezone.now().isoformat(),
            "data": {"endpoint": delivery.endpoint_id},
        }
    activity = Activity.objects.filter(pk=delivery.activity_id).first()
    if activity is None:  # never deleted in practice: activities are append-only
        return {"type": delivery.verb, "timestamp": delivery.created_at.isoformat(), "data": {}}
    renderer = RENDERERS.get(activity.target_type)
    rendered = renderer(activity.target_id) if renderer else None
    return {
        "type": activity.verb,
        "timestamp": activity.created_at.isoformat(),
        "data": {
            "activity": activity.pk,
            "actor": activity.actor_id,
            "target_type": activity.target_type,
            "target_id": activity.target_id,
            "session": activity.session_id,
            "student": activity.student_id,
            "sequence": delivery.sequence,
            "changes": activity.data,
            "object": rendered if rendered is not None else activity.data,
        },
    }


ENCODER = DjangoJSONEncoder
