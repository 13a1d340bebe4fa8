"""Staff manage endpoints here (saved through webhooks.services) and read every delivery
and attempt; actions send a test ping, rotate a secret and redeliver."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from config.admin_base import ServiceSaveMixin
from config.errors import DomainError

from .models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from .services import (
    EVENT_CHOICES,
    delivery_redeliver,
    endpoint_create,
    endpoint_ping,
    endpoint_rotate_secret,
    endpoint_update,
)


class EndpointForm(forms.ModelForm):
    url = forms.URLField(max_length=2000, assume_scheme="https")
    event_types = forms.MultipleChoiceField(
        choices=[(name, name) for name in EVENT_CHOICES],
        widget=forms.CheckboxSelectMultiple,
        help_text='"*" is every verb, including those added later.',
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["url", "event_types", "description", "is_active"]


def _secret_message(request: HttpRequest, endpoint: WebhookEndpoint, secret: str) -> None:
    messages.warning(
        request,
        f"The signing secret of {endpoint.url} is {secret} . Copy it now: it is not shown again.",
    )


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(ServiceSaveMixin, admin.ModelAdmin):
    form = EndpointForm
    list_display = (
        "url",
        "is_active",
        "event_list",
        "disabled_reason",
        "failing_since",
        "deliveries_link",
    )
    list_filter = ("is_active",)
    search_fields = ("url", "description")
    readonly_fields = (
        "disabled_reason",
        "failing_since",
        "previous_secret_expires_at",
        "created_at",
        "deliveries_link",
    )
    actions = ["send_ping", "rotate_secret"]
    service_error_fields = {"unsafe_url": "url", "refused": "event_types"}

    @admin.display(description="events")
    def event_list(self, endpoint: WebhookEndpoint) -> str:
        return ", ".join(endpoint.event_types)

    @admin.display(description="deliveries")
    def deliveries_link(self, endpoint: WebhookEndpoint) -> str:
        if endpoint.pk is None:
            return "-"
        url = (
            reverse("admin:webhooks_webhookdelivery_changelist")
            + f"?endpoint__id__exact={endpoint.pk}"
        )
        return format_html('<a href="{}">Deliveries and attempts</a>', url)

    def save_model(
        self, request: HttpRequest, obj: WebhookEndpoint, form: Any, change: bool
    ) -> None:
        data = {
            name: form.cleaned_data[name]
            for name in ("url", "event_types", "description", "is_active")
        }
        try:
            if change:
                fresh = WebhookEndpoint.objects.get(pk=obj.pk)
                endpoint_update(endpoint=fresh, by=request.user, **data)
                return
            endpoint, secret = endpoint_create(by=request.user, **data)
        except DomainError as error:
            raise self.refusal(error) from error
        obj.pk = endpoint.pk
        obj._state.adding = False
        _secret_message(request, endpoint, secret)

    @admin.action(description="Send a test ping")
    def send_ping(self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]) -> None:
        for endpoint in queryset:
            try:
                endpoint_ping(endpoint=endpoint, by=request.user)
            except DomainError as error:
                messages.error(request, f"{endpoint.url}: {error.message}")
            else:
                messages.success(request, f"Ping queued for {endpoint.url}.")

    @admin.action(description="Rotate the signing secret (the old one stays valid 24 h)")
    def rotate_secret(self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]) -> None:
        for endpoint in queryset:
            _secret_message(
                request, endpoint, endpoint_rotate_secret(endpoint=endpoint, by=request.user)
            )


class AttemptInline(admin.TabularInline):
    model = WebhookAttempt
    extra = 0
    can_delete = False
    fields = (
        "created_at",
        "status_code",
        "latency_ms",
        "error",
        "response_excerpt",
        "next_attempt_at",
    )
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = (
        "created_at",
        "endpoint",
        "verb",
        "sequence",
        "status",
        "attempts",
        "next_attempt_at",
        "delivered_at",
    )
    list_filter = ("status", "endpoint")
    search_fields = ("webhook_id", "verb")
    list_select_related = ("endpoint",)
    inlines = [AttemptInline]
    actions = ["redeliver"]
    readonly_fields = [field.name for field in WebhookDelivery._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Viewable with its attempts; actions still apply (they call the services).
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description="Redeliver now (same webhook-id and body)", permissions=["view"])
    def redeliver(self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]) -> None:
        for delivery in queryset.select_related("endpoint"):
            try:
                delivery_redeliver(delivery=delivery, by=request.user)
            except DomainError as error:
                messages.error(request, f"Delivery {delivery.webhook_id}: {error.message}")
            else:
                messages.success(request, f"Delivery {delivery.webhook_id} queued again.")
