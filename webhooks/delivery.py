"""One delivery attempt: sign, POST to the checked address, log, then succeed, retry or give up.

The delivery row is locked for the attempt, so two tasks for one delivery never
both send it; a task whose `after` no longer matches the attempts made is stale
and does nothing. The webhook-id is the same on every attempt: a receiver that
got a delivery whose acknowledgement was lost drops the repeat.
"""

import json
import random
from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from config.outbox import Call, enqueue_calls

from . import payloads, signing, transport
from .addresses import UnsafeURL, check_url
from .models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

RETRY_WINDOW = timedelta(days=3)
FAILING_WINDOW = timedelta(days=1)
MAX_DELAY = timedelta(hours=6)
USER_AGENT = "Practica-Webhooks/1"


def retry_delay(attempts: int) -> timedelta:
    """Exponential backoff after the attempts-th failure, capped, with ±20% jitter so
    that the deliveries of one outage do not all come back at the same second."""
    base = settings.WEBHOOKS_RETRY_BASE_SECONDS * 2 ** (attempts - 1)
    capped = min(base, MAX_DELAY.total_seconds())
    return timedelta(seconds=capped * random.uniform(0.8, 1.2))  # jitter, not a secret


def encode(payload: dict) -> bytes:
    # Sorted keys: PostgreSQL's jsonb reorders them, and every attempt must send the same bytes.
    return json.dumps(
        payload, cls=DjangoJSONEncoder, separators=(",", ":"), sort_keys=True
    ).encode()


def headers_for(delivery: WebhookDelivery, body: bytes, now_ts: int) -> dict[str, str]:
    return {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": delivery.webhook_id,
        "webhook-timestamp": str(now_ts),
        "webhook-signature": signing.signature_header(
            delivery.endpoint.signing_secrets(),
            webhook_id=delivery.webhook_id,
            timestamp=now_ts,
            body=body,
        ),
    }


def _disable(endpoint: WebhookEndpoint, reason: str) -> None:
    endpoint.is_active = False
    endpoint.disabled_reason = reason[:300]
    endpoint.save(update_fields=["is_active", "disabled_reason", "failing_since", "updated_at"])


Retry = Callable[[WebhookDelivery, datetime], Call]


def attempt(delivery_id: int, *, after: int, retry: Retry) -> str:
    """Make attempt number `after + 1` of the delivery; returns what happened."""
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update(of=("self",))
            .select_related("endpoint")
            .filter(pk=delivery_id)
            .first()
        )
        if delivery is None:
            return "no such delivery"
        if delivery.status != WebhookDelivery.Status.PENDING or delivery.attempts != after:
            return "stale"
        endpoint = delivery.endpoint
        if not endpoint.is_active:
            delivery.status = WebhookDelivery.Status.FAILED
            delivery.next_attempt_at = None
            delivery.save(update_fields=["status", "next_attempt_at"])
            return "endpoint disabled"
        if delivery.payload is None:
            delivery.payload = payloads.render(delivery)
        body = encode(delivery.payload)
        now = timezone.now()
        try:
            target = check_url(endpoint.url)
        except UnsafeURL as refused:
            response = transport.Response(None, "", refused.message, 0)
        else:
            response = transport.post(
                target, body=body, headers=headers_for(delivery, body, int(now.timestamp()))
            )
        return _settle(delivery, endpoint, response, retry)


def _settle(
    delivery: WebhookDelivery,
    endpoint: WebhookEndpoint,
    response: transport.Response,
    retry: Retry,
) -> str:
    now = timezone.now()
    delivery.attempts += 1
    delivery.next_attempt_at = None
    log = WebhookAttempt(
        delivery=delivery,
        status_code=response.status,
        latency_ms=response.latency_ms,
        response_excerpt=response.excerpt,
        error=response.error,
    )
    outcome: str
    if response.status is not None and 200 <= response.status < 300:
        delivery.status = WebhookDelivery.Status.SUCCEEDED
        delivery.delivered_at = now
        if endpoint.failing_since:
            endpoint.failing_since = None
            endpoint.save(update_fields=["failing_since", "updated_at"])
        outcome = "delivered"
    elif response.status == 410:
        delivery.status = WebhookDelivery.Status.FAILED
        _disable(endpoint, f"The receiver answered 410 Gone on {now:%Y-%m-%d %H:%M} UTC.")
        outcome = "gone: endpoint disabled"
    else:
        endpoint.failing_since = endpoint.failing_since or now
        failing_for = now - endpoint.failing_since
        next_at = now + retry_delay(delivery.attempts)
        if failing_for >= FAILING_WINDOW:
            delivery.status = WebhookDelivery.Status.FAILED
            _disable(
                endpoint,
                f"Every delivery failed for {failing_for.days} day(s) since "
                f"{endpoint.failing_since:%Y-%m-%d %H:%M} UTC; last: "
                f"{response.status or response.error}.",
            )
            outcome = "failing for a day: endpoint disabled"
        elif next_at - delivery.created_at > RETRY_WINDOW:
            delivery.status = WebhookDelivery.Status.FAILED
            endpoint.save(update_fields=["failing_since", "updated_at"])
            outcome = "gave up"
        else:
            delivery.next_attempt_at = log.next_attempt_at = next_at
            endpoint.save(update_fields=["failing_since", "updated_at"])
            # The next attempt is a new task row, committed with this attempt's log.
            enqueue_calls([retry(delivery, next_at)])
            outcome = "retry scheduled"
    log.save(force_insert=True)
    delivery.save()
    return outcome
