"""OpenAPI documentation of the error bodies every endpoint shares (SPEC §4).

`error_responses(400, 403, 409, ...)` gives the `responses` entries a view adds to
`@extend_schema`; the AutoSchema below adds the answers any endpoint can give
without the view doing anything: 401 when credentials are required, 404 for a
path with an id or a paginated list (an unknown page), 400 for a paginated list
(an invalid page_size), 413 and 415 for a request with a body (too large, not
JSON), 429 when throttled.
The bodies are the ones `config.exceptions.api_exception_handler` produces.
"""

from typing import Any

from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, PolymorphicProxySerializer
from rest_framework import serializers

from .errors import ERROR_CODES


class ErrorSerializer(serializers.Serializer):
    """`{"detail", "code"}`: a refusal; `code` is stable (SPEC §4), absent on DRF's own errors."""

    detail = serializers.CharField()
    code = serializers.CharField(required=False)


class ProtectedErrorSerializer(serializers.Serializer):
    """A delete refused because other rows refer to the object (`code` is `protected`)."""

    detail = serializers.CharField()
    code = serializers.CharField()
    blocking = serializers.DictField(
        child=serializers.IntegerField(),
        help_text="Each blocking relation with its row count, e.g. "
        '{"bookings": 2, "attendance": 0, "feedback": 1, "projects": 0}.',
    )


class ValidationErrorSerializer(serializers.Serializer):
    """DRF's field-error shape: `{"field": ["message", ...], "non_field_errors": [...]}`."""


class ValidationErrorExtension(OpenApiSerializerExtension):
    target_class = ValidationErrorSerializer

    def map_serializer(self, auto_schema: Any, direction: str) -> dict[str, Any]:
        return {
            "type": "object",
            "description": "Field name (or `non_field_errors`) to its messages.",
            "additionalProperties": {
                "anyOf": [
                    {"type": "array", "items": {"type": "string"}},
                    {"type": "object", "additionalProperties": True},
                ]
            },
        }


BAD_REQUEST = PolymorphicProxySerializer(
    component_name="BadRequest",
    serializers=[ValidationErrorSerializer, ErrorSerializer],
    resource_type_field_name=None,
)

_DESCRIPTIONS = {
    400: "Malformed or invalid input: field errors, or a refusal with a `code`.",
    401: "No credentials, or invalid ones.",
    403: "The caller may not do this.",
    404: "No such object, or one the caller may not see.",
    409: "The current state refuses the request; `code` says why.",
    413: "The request body is over DATA_UPLOAD_MAX_MEMORY_SIZE (`request_too_large`).",
    415: "The request body is not in a supported media type (send JSON).",
    422: "The Idempotency-Key was used with a different request (`idempotency_key_reused`).",
    429: "Too many requests; retry after the `Retry-After` seconds.",
    503: "A contended row could not be locked in time; retry after `Retry-After` seconds.",
}


def error_response(status_code: int, body: Any = None, description: str = "") -> OpenApiResponse:
    if body is None:
        body = BAD_REQUEST if status_code == 400 else ErrorSerializer
    return OpenApiResponse(body, description=description or _DESCRIPTIONS.get(status_code, ""))


def error_responses(*status_codes: int) -> dict[int, OpenApiResponse]:
    """The documented error answers of an operation, by status code."""
    return {code: error_response(code) for code in status_codes}


PROTECTED_409 = {409: error_response(409, ProtectedErrorSerializer, "Referenced rows block it.")}

RETRY_AFTER = OpenApiParameter(
    "Retry-After",
    int,
    OpenApiParameter.HEADER,
    description="Seconds to wait before retrying.",
    response=[429, 503],
)


class AutoSchema(SpectacularAutoSchema):
    def _get_response_bodies(self, direction: str = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        implied: list[int] = []
        auth = self.get_auth()
        if auth and {} not in auth:
            implied.append(401)
        paginated_list = self.method == "GET" and self._is_list_view() and self._get_paginator()
        if paginated_list:
            # An invalid page_size.
            implied.append(400)
        if "{" in self.path or paginated_list:
            implied.append(404)
        if self.method in {"POST", "PUT", "PATCH"}:
            implied.extend([413, 415])
        if self.view.get_throttles():
            implied.append(429)
        for code in implied:
            if str(code) not in responses:
                responses[str(code)] = self._get_response_for_code(
                    error_response(code), str(code), direction=direction
                )
        return dict(sorted(responses.items()))

    def _get_request_for_media_type(self, serializer: Any, direction: str = "request") -> Any:
        """drf-spectacular documents every PATCH body as partial (every field optional),
        as DRF's UpdateModelMixin validates it. A view that validates its PATCH body in
        full marks the serializer `complete_on_patch = True`, so that the schema requires
        what the server requires."""
        if self.method == "PATCH" and getattr(serializer, "complete_on_patch", False):
            # Documented as the PUT body would be; the generator is per operation.
            self.method = "PUT"
            try:
                return super()._get_request_for_media_type(serializer, direction)
            finally:
                self.method = "PATCH"
        return super()._get_request_for_media_type(serializer, direction)

    def get_override_parameters(self) -> list[Any]:
        return [*super().get_override_parameters(), RETRY_AFTER]


def allow_empty_query_values(
    result: dict[str, Any], generator: Any, request: Any, public: bool
) -> dict[str, Any]:
    """A postprocessing hook: every query parameter may be sent empty (`?date_to=`),
    which reads as absent, as django-filter and DRF's pagination treat it (the
    instructor pages' GET forms send their blank fields that way)."""
    for path in result.get("paths", {}).values():
        for operation in path.values():
            for parameter in operation.get("parameters", []):
                if parameter.get("in") == "query":
                    parameter["allowEmptyValue"] = True
    return result


def list_error_codes(
    result: dict[str, Any], generator: Any, request: Any, public: bool
) -> dict[str, Any]:
    """A postprocessing hook: the `code` of the error bodies lists every code the apps
    declare (`config.errors.error_code`), with its meaning, so the list cannot drift."""
    listed = "\n".join(f"- `{code}`: {meaning}" for code, meaning in sorted(ERROR_CODES.items()))
    schemas = result.get("components", {}).get("schemas", {})
    for name in ("Error", "ProtectedError"):
        code = schemas.get(name, {}).get("properties", {}).get("code")
        if code is not None:
            code["description"] = f"Stable: a client may switch on it. One of:\n{listed}"
    return result
