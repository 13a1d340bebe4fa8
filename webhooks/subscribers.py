"""Activities in, deliveries and their task rows out, inside the writer's transaction.

It runs only when an endpoint is active as the activities are inserted (their
INSERT asks: `only_if` in webhooks/apps.py), so a writer pays nothing while no
endpoint exists. Then: one read of the active endpoints per record()/record_many();
when some want the verbs, one INSERT of all deliveries and one of all task rows. Work that
rolls back leaves neither, so nothing is sent for it.
"""

from django.db.models import Max, Subquery, Value
from django.db.models.functions import Coalesce

from activity.models import Activity
from config.outbox import enqueue_calls

from .models import WebhookDelivery, WebhookEndpoint
from .tasks import call_for


def _next_sequence(endpoint_id: int, activity: Activity, offset: int) -> Coalesce:
    """The per-(endpoint, target) number, computed by the INSERT itself: the highest so far
    plus `offset` (deliveries about the same object in one batch count up from it).
    Writes to one object hold its row lock (the session's), so they number in commit order."""
    highest = (
        WebhookDelivery.objects.filter(
            endpoint_id=endpoint_id,
            target_type=activity.target_type,
            target_id=activity.target_id,
        )
        .order_by()
        .values("endpoint_id")
        .annotate(highest=Max("sequence"))
        .values("highest")
    )
    return Coalesce(Subquery(highest), Value(0)) + Value(offset)


def deliveries_for_activities(activities: list[Activity]) -> None:
    endpoints = list(WebhookEndpoint.objects.active().only("id", "event_types"))
    if not endpoints:
        return
    deliveries: list[WebhookDelivery] = []
    offsets: dict[tuple[int, str, int], int] = {}
    for activity in activities:
        for endpoint in endpoints:
            if not endpoint.wants(activity.verb):
                continue
            key = (endpoint.pk, activity.target_type, activity.target_id)
            offsets[key] = offsets.get(key, 0) + 1
            deliveries.append(
                WebhookDelivery(
                    endpoint_id=endpoint.pk,
                    activity_id=activity.pk,
                    verb=activity.verb,
                    target_type=activity.target_type,
                    target_id=activity.target_id,
                    sequence=_next_sequence(endpoint.pk, activity, offsets[key]),
                )
            )
    if not deliveries:
        return
    created = WebhookDelivery.objects.bulk_create(deliveries)
    enqueue_calls([call_for(row) for row in created])
