from django.contrib.auth import authenticate, user_logged_in
from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.authtoken.models import Token
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.services import update_notification_settings
from config.spectacular import error_responses

from .serializers import MeSerializer, MeUpdateSerializer, TokenRequestSerializer, TokenSerializer


# `Cache-Control: no-store` (and private, max-age=0): these answers carry a credential or
# the caller's account, and no browser, proxy or CDN may keep a copy.
@method_decorator(never_cache, name="dispatch")
class TokenView(APIView):
    """Exchange a username and password for the caller's API token.

    `authenticate(request=...)` lets django-axes count the failures; once a
    (username, address) is locked out, its middleware answers 429
    (config.login_limits.lockout_response).
    """

    # No session authentication here: a login form posted cross-site needs no CSRF
    # exemption to be harmless, because this view reads no cookie at all.
    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="auth_token_create",
        request=TokenRequestSerializer,
        responses={200: TokenSerializer, **error_responses(400)},
        auth=[],
    )
    def post(self, request: Request) -> Response:
        credentials = TokenRequestSerializer(data=request.data)
        credentials.is_valid(raise_exception=True)
        user = authenticate(
            request=request._request,
            username=credentials.validated_data["username"],
            password=credentials.validated_data["password"],
        )
        if user is None:
            raise serializers.ValidationError(
                {"non_field_errors": ["Unable to log in with the provided credentials."]}
            )
        # As a page login does: records last_login, and django-axes clears this
        # (username, address)'s failures (AXES_RESET_ON_SUCCESS).
        user_logged_in.send(sender=user.__class__, request=request._request, user=user)
        token, _ = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})


@method_decorator(never_cache, name="dispatch")
class MeView(APIView):
    """The caller's own account, with its credit balance."""

    @extend_schema(operation_id="me_retrieve", responses={200: MeSerializer})
    def get(self, request: Request) -> Response:
        return Response(MeSerializer(request.user).data)

    @extend_schema(
        operation_id="me_partial_update",
        request=MeUpdateSerializer,
        responses={200: MeSerializer, **error_responses(400)},
    )
    def patch(self, request: Request) -> Response:
        """Turn optional emails on or off."""
        changes = MeUpdateSerializer(data=request.data)
        changes.is_valid(raise_exception=True)
        user = update_notification_settings(user=request.user, changes=changes.validated_data)
        return Response(MeSerializer(user).data)
