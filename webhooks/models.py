"""Webhook endpoints, the deliveries owed to them, and every attempt made."""

import uuid
from datetime import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone


class WebhookEndpointQuerySet(models.QuerySet["WebhookEndpoint"]):
    def active(self) -> "WebhookEndpointQuerySet":
        return self.filter(is_active=True)


class WebhookEndpoint(models.Model):
    url = models.URLField(max_length=2000)
    # Verbs (activity/verbs.py) or ["*"] for every one.
    event_types = models.JSONField(default=list)
    is_active = models.BooleanField(default=True)
    description = models.CharField(max_length=200, blank=True)
    # Needed in clear to sign; shown once (at creation and rotation), never again.
    secret = models.CharField(max_length=100, editable=False)
    previous_secret = models.CharField(max_length=100, blank=True, editable=False)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    disabled_reason = models.CharField(max_length=300, blank=True, editable=False)
    # The first failure of the current run of failures; cleared by a success.
    failing_since = models.DateTimeField(null=True, blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = WebhookEndpointQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        indexes = [
            # The writer's one read per record(): WHERE is_active.
            models.Index(fields=["is_active"], name="webhook_endpoint_active_idx"),
        ]

    def __str__(self) -> str:
        return self.url

    def wants(self, verb: str) -> bool:
        return "*" in self.event_types or verb in self.event_types

    def signing_secrets(self, now: datetime | None = None) -> list[str]:
        """The current secret, and the previous one while its grace period lasts."""
        now = now or timezone.now()
        valid = [self.secret]
        if (
            self.previous_secret
            and self.previous_secret_expires_at
            and (self.previous_secret_expires_at > now)
        ):
            valid.append(self.previous_secret)
        return valid


def new_webhook_id() -> str:
    return f"msg_{uuid.uuid4().hex}"


class WebhookDelivery(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    # Null for a test ping.
    activity_id = models.BigIntegerField(null=True, blank=True)
    verb = models.CharField(max_length=64)
    target_type = models.CharField(max_length=100, blank=True)
    target_id = models.BigIntegerField(null=True, blank=True)
    # Rendered at the first attempt, then sent unchanged by every retry and redelivery.
    payload = models.JSONField(null=True, blank=True)
    # Standard Webhooks' `webhook-id`: the same on every attempt, for the receiver's dedup.
    webhook_id = models.CharField(max_length=40, unique=True, default=new_webhook_id)
    # 1, 2, 3... per endpoint and target object, in the order the events committed.
    sequence = models.PositiveBigIntegerField(default=1)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "webhook deliveries"
        indexes = [
            # An endpoint's deliveries, newest first (API and admin).
            models.Index(
                fields=["endpoint", "-created_at", "-id"], name="webhook_delivery_list_idx"
            ),
            # The next sequence number: MAX(sequence) WHERE endpoint AND target.
            models.Index(
                fields=["endpoint", "target_type", "target_id", "-sequence"],
                name="webhook_delivery_seq_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.verb} to {self.endpoint_id} ({self.status})"


class WebhookAttempt(models.Model):
    delivery = models.ForeignKey(
        WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log"
    )
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField(default=0)
    response_excerpt = models.TextField(blank=True)
    error = models.CharField(max_length=500, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.status_code or self.error or '-'} ({self.latency_ms} ms)"
