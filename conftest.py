"""Fixtures shared by every app's tests."""

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from django.core.cache import cache
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from config.tests.openapi_contract import check_response


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Throttle counters live in the cache: every test starts with none."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Callable[[datetime], None]:
    """`clock(moment)`: from then on every `timezone.now()` (the services', the task
    worker's, `auto_now` fields', and so `localdate()`) answers `moment`, in UTC as
    Django's own does (so that `now().date()` would be the UTC date)."""

    def set_to(moment: datetime) -> None:
        in_utc = moment.astimezone(UTC)
        monkeypatch.setattr(timezone, "now", lambda: in_utc)

    return set_to


class ContractClient(APIClient):
    """An APIClient that fails the test when a response strays from the OpenAPI schema:
    an undocumented status code, or a body that does not match its documented schema."""

    def request(self, **kwargs):
        response = super().request(**kwargs)
        check_response(response)
        return response


@pytest.fixture
def api_client() -> APIClient:
    """Anonymous, schema-checked."""
    return ContractClient()


@pytest.fixture
def token_client():
    """Build an API client authenticated the way integrators are: with a token header.

    Every response is checked against the OpenAPI schema (ContractClient)."""

    def build(user) -> APIClient:
        client = ContractClient()
        token, _ = Token.objects.get_or_create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        return client

    return build


@pytest.fixture
def session_client():
    """Build an API client logged in with a Django session, as the browser is; schema-checked."""

    def build(user) -> APIClient:
        client = ContractClient()
        client.force_login(user)
        return client

    return build


@pytest.fixture
def as_role(world, api_client, token_client):
    """`as_role("student")`: a schema-checked client signed in as the module's `world`
    user of that role (an attribute of the same name), or anonymous."""

    def build(role: str) -> APIClient:
        return api_client if role == "anonymous" else token_client(getattr(world, role))

    return build
