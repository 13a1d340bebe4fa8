"""Webhooks' refusals."""

from config.errors import error_code

UNSAFE_URL = error_code(
    "unsafe_url",
    "A webhook URL is not http(s) or its host resolves to a private, loopback, link-local, "
    "multicast, reserved or metadata address.",
)
ENDPOINT_DISABLED = error_code(
    "endpoint_disabled", "The webhook endpoint is disabled; activate it first."
)
