"""Every write of webhooks: the API, the admin and the tests call these."""

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from activity.verbs import ALL_VERBS
from config.errors import Conflict, DomainError
from config.outbox import enqueue_calls

from . import signing
from .addresses import check_url
from .errors import ENDPOINT_DISABLED
from .models import WebhookDelivery, WebhookEndpoint
from .payloads import PING
from .tasks import call_for

ROTATION_GRACE = timedelta(hours=24)
EVENT_CHOICES = ("*", *ALL_VERBS)


def check_event_types(event_types: Iterable[str]) -> list[str]:
    chosen = list(dict.fromkeys(event_types))
    if not chosen:
        raise DomainError('event_types: choose at least one verb, or "*" for every one.')
    unknown = [name for name in chosen if name not in EVENT_CHOICES]
    if unknown:
        raise DomainError(f"event_types: unknown verb {unknown[0]!r}.")
    return chosen


def endpoint_create(
    *,
    url: str,
    event_types: Iterable[str],
    by: User | None,
    description: str = "",
    is_active: bool = True,
) -> tuple[WebhookEndpoint, str]:
    """Register an endpoint; returns it with its secret, which is shown this once."""
    check_url(url)
    secret = signing.new_secret()
    endpoint = WebhookEndpoint.objects.create(
        url=url,
        event_types=check_event_types(event_types),
        description=description,
        is_active=is_active,
        secret=secret,
        created_by=by,
    )
    return endpoint, secret


def endpoint_update(
    *, endpoint: WebhookEndpoint, by: User | None, **changes: Any
) -> WebhookEndpoint:
    """Change url, event_types, description or is_active; reactivating clears the reason."""
    if "url" in changes and changes["url"] != endpoint.url:
        check_url(changes["url"])
    if "event_types" in changes:
        changes["event_types"] = check_event_types(changes["event_types"])
    if changes.get("is_active") and not endpoint.is_active:
        endpoint.disabled_reason = ""
        endpoint.failing_since = None
    for name, value in changes.items():
        setattr(endpoint, name, value)
    endpoint.save()
    return endpoint


def endpoint_rotate_secret(*, endpoint: WebhookEndpoint, by: User | None) -> str:
    """A new secret; the old one keeps signing (both signatures sent) for 24 hours."""
    secret = signing.new_secret()
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_expires_at = timezone.now() + ROTATION_GRACE
    endpoint.secret = secret
    endpoint.save(
        update_fields=["secret", "previous_secret", "previous_secret_expires_at", "updated_at"]
    )
    return secret


def endpoint_ping(*, endpoint: WebhookEndpoint, by: User | None) -> WebhookDelivery:
    """Queue a `webhook.ping` delivery to the endpoint."""
    if not endpoint.is_active:
        raise Conflict("The endpoint is disabled; activate it first.", code=ENDPOINT_DISABLED)
    with transaction.atomic():
        delivery = WebhookDelivery.objects.create(endpoint=endpoint, verb=PING)
        enqueue_calls([call_for(delivery)])
    return delivery


def delivery_redeliver(*, delivery: WebhookDelivery, by: User | None) -> WebhookDelivery:
    """Send a delivery again now, with the same webhook-id and payload."""
    if not delivery.endpoint.is_active:
        raise Conflict("The endpoint is disabled; activate it first.", code=ENDPOINT_DISABLED)
    with transaction.atomic():
        delivery.status = WebhookDelivery.Status.PENDING
        delivery.next_attempt_at = timezone.now()
        delivery.save(update_fields=["status", "next_attempt_at"])
        # A retry still queued carries the same `after`: whichever runs first attempts,
        # the other finds the attempts moved on and does nothing.
        enqueue_calls([call_for(delivery)])
    return delivery
