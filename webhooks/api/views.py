"""`/api/v1/webhooks/` and `/api/v1/webhook-deliveries/`: staff only; writes call the services."""

from typing import Any

from django.db.models import Prefetch, QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAdminUser, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from config.spectacular import error_responses
from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from webhooks.services import (
    delivery_redeliver,
    endpoint_create,
    endpoint_ping,
    endpoint_rotate_secret,
    endpoint_update,
)

from .serializers import (
    DeliverySerializer,
    EndpointInputSerializer,
    EndpointSerializer,
    EndpointWithSecretSerializer,
    SecretSerializer,
)


def deliveries_with_attempts() -> QuerySet[WebhookDelivery]:
    """A page of deliveries and all their attempts: two queries."""
    return WebhookDelivery.objects.prefetch_related(
        Prefetch("attempt_log", queryset=WebhookAttempt.objects.order_by("created_at", "id"))
    )


@extend_schema_view(
    list=extend_schema(
        description="Staff: the registered endpoints (never their secrets).",
        responses={200: EndpointSerializer(many=True), **error_responses(403)},
    ),
    retrieve=extend_schema(responses={200: EndpointSerializer, **error_responses(403)}),
    create=extend_schema(
        request=EndpointInputSerializer,
        responses={201: EndpointWithSecretSerializer, **error_responses(400, 403)},
        description="Register an endpoint. The response carries its `secret`, shown this "
        "once. The URL must be http(s) to a public address (400 `unsafe_url`).",
    ),
    update=extend_schema(
        request=EndpointInputSerializer,
        responses={200: EndpointSerializer, **error_responses(400, 403)},
    ),
    partial_update=extend_schema(
        request=EndpointInputSerializer,
        responses={200: EndpointSerializer, **error_responses(400, 403)},
        description="Change it; `is_active: true` re-enables a disabled endpoint.",
    ),
    destroy=extend_schema(responses={204: None, **error_responses(403)}),
)
class WebhookEndpointViewSet(viewsets.ModelViewSet):
    serializer_class = EndpointSerializer
    permission_classes = [IsAuthenticated, IsAdminUser]
    filter_backends: list[Any] = []
    queryset = WebhookEndpoint.objects.order_by("id")

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        given = EndpointInputSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        endpoint, secret = endpoint_create(by=request.user, **given.validated_data)
        endpoint.secret = secret
        return Response(EndpointWithSecretSerializer(endpoint).data, status=status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        endpoint = self.get_object()
        given = EndpointInputSerializer(data=request.data, partial=kwargs.get("partial", False))
        given.is_valid(raise_exception=True)
        endpoint = endpoint_update(endpoint=endpoint, by=request.user, **given.validated_data)
        return Response(EndpointSerializer(endpoint).data)

    @extend_schema(
        request=None,
        responses={200: DeliverySerializer(many=True), **error_responses(403)},
        description="The endpoint's deliveries, newest first, each with its attempts.",
    )
    @action(detail=True, methods=["get"])
    def deliveries(self, request: Request, pk: str | None = None) -> Response:
        endpoint = self.get_object()
        rows = deliveries_with_attempts().filter(endpoint=endpoint).order_by("-created_at", "-id")
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(DeliverySerializer(page, many=True).data)

    @extend_schema(
        request=None,
        responses={202: DeliverySerializer, **error_responses(403, 409)},
        description="Queue a `webhook.ping` delivery (409 `endpoint_disabled` when disabled).",
    )
    @action(detail=True, methods=["post"])
    def ping(self, request: Request, pk: str | None = None) -> Response:
        delivery = endpoint_ping(endpoint=self.get_object(), by=request.user)
        row = deliveries_with_attempts().get(pk=delivery.pk)
        return Response(DeliverySerializer(row).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        request=None,
        responses={200: SecretSerializer, **error_responses(403)},
        description="A new secret, shown this once; deliveries carry the old one's signature "
        "too for 24 hours, so receivers can switch without losing any.",
    )
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request: Request, pk: str | None = None) -> Response:
        endpoint = self.get_object()
        secret = endpoint_rotate_secret(endpoint=endpoint, by=request.user)
        body = {
            "secret": secret,
            "previous_secret_valid_until": endpoint.previous_secret_expires_at,
        }
        return Response(SecretSerializer(body).data)


class WebhookDeliveryViewSet(mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = DeliverySerializer
    permission_classes = [IsAuthenticated, IsAdminUser]
    filter_backends: list[Any] = []

    def get_queryset(self) -> QuerySet[WebhookDelivery]:
        return deliveries_with_attempts().select_related("endpoint")

    @extend_schema(responses={200: DeliverySerializer, **error_responses(403)})
    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().retrieve(request, *args, **kwargs)

    @extend_schema(
        request=None,
        responses={202: DeliverySerializer, **error_responses(403, 409)},
        description="Send the delivery again now, with the same webhook-id and body.",
    )
    @action(detail=True, methods=["post"])
    def redeliver(self, request: Request, pk: str | None = None) -> Response:
        delivery = delivery_redeliver(delivery=self.get_object(), by=request.user)
        row = deliveries_with_attempts().get(pk=delivery.pk)
        return Response(DeliverySerializer(row).data, status=status.HTTP_202_ACCEPTED)
