"""Webhooks in the API: input shapes, and outputs that never carry a secret except once."""

from rest_framework import serializers

from config.fields import StrictCharField
from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from webhooks.services import EVENT_CHOICES


class EndpointInputSerializer(serializers.Serializer):
    url = StrictCharField(max_length=2000, help_text="http(s) URL to a public address.")
    event_types = serializers.ListField(
        child=serializers.ChoiceField(choices=EVENT_CHOICES),
        min_length=1,
        max_length=len(EVENT_CHOICES),
        help_text='Activity verbs (README, Activity), or ["*"] for every one.',
    )
    description = StrictCharField(max_length=200, required=False, allow_blank=True)
    is_active = serializers.BooleanField(required=False)


class EndpointSerializer(serializers.ModelSerializer):
    secret_rotation_ends_at = serializers.DateTimeField(
        source="previous_secret_expires_at",
        read_only=True,
        allow_null=True,
        help_text="Until then the previous secret's signature is sent too.",
    )

    class Meta:
        model = WebhookEndpoint
        fields = [
            "id",
            "url",
            "event_types",
            "is_active",
            "description",
            "disabled_reason",
            "failing_since",
            "secret_rotation_ends_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class EndpointWithSecretSerializer(EndpointSerializer):
    secret = serializers.CharField(
        read_only=True, help_text="whsec_...: shown in this response only; store it now."
    )

    class Meta(EndpointSerializer.Meta):
        fields = [*EndpointSerializer.Meta.fields, "secret"]
        read_only_fields = fields


class SecretSerializer(serializers.Serializer):
    secret = serializers.CharField(read_only=True, help_text="Shown in this response only.")
    previous_secret_valid_until = serializers.DateTimeField(read_only=True)


class AttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookAttempt
        fields = [
            "id",
            "status_code",
            "latency_ms",
            "response_excerpt",
            "error",
            "next_attempt_at",
            "created_at",
        ]
        read_only_fields = fields


class DeliverySerializer(serializers.ModelSerializer):
    """Expects `attempt_log` prefetched."""

    attempt_log = AttemptSerializer(many=True, read_only=True)
    payload = serializers.JSONField(
        read_only=True, allow_null=True, help_text="The body sent; null until first attempted."
    )

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "endpoint",
            "webhook_id",
            "activity_id",
            "verb",
            "target_type",
            "target_id",
            "sequence",
            "status",
            "attempts",
            "next_attempt_at",
            "created_at",
            "delivered_at",
            "payload",
            "attempt_log",
        ]
        read_only_fields = fields
