"""The delivery task: one attempt per run; a failure enqueues the next attempt as a new row."""

from datetime import datetime

from django_tasks import task

from config.outbox import Call

from . import delivery
from .models import WebhookDelivery


def call_for(row: WebhookDelivery, when: datetime | None = None) -> Call:
    """The task row that makes the delivery's next attempt (now, or at `when`)."""
    return Call(deliver_webhook, {"delivery_id": row.pk, "after": row.attempts}, when)


@task()
def deliver_webhook(*, delivery_id: int, after: int = 0) -> str:
    """Attempt a delivery whose attempts so far number `after`; otherwise the task is
    stale (a redelivery or another retry got there first) and does nothing."""
    return delivery.attempt(delivery_id, after=after, retry=call_for)
