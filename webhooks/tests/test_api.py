"""`/api/v1/webhooks/` and `/api/v1/webhook-deliveries/` (schema-checked clients)."""

import pytest

from accounts.tests.factories import InstructorFactory, StudentFactory
from bookings.services import grant_credits
from webhooks import addresses
from webhooks.models import WebhookDelivery, WebhookEndpoint

from .factories import WebhookEndpointFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/webhooks/"


def test_staff_register_an_endpoint_and_see_its_secret_once(token_client, staff, receiver):
    api = token_client(staff)

    created = api.post(URL, {"url": receiver.url, "event_types": ["booking.confirmed"]})

    assert created.status_code == 201
    body = created.json()
    assert body["secret"].startswith("whsec_") and body["is_active"]
    assert "secret" not in api.get(f"{URL}{body['id']}/").json()
    assert all("secret" not in row for row in api.get(URL).json()["results"])
    assert WebhookEndpoint.objects.get().secret == body["secret"]


@pytest.mark.parametrize(
    ("url", "resolved"),
    [
        ("http://127.0.0.1:8000/", ["127.0.0.1"]),
        ("http://internal.example/", ["10.0.0.5"]),
        ("http://metadata.example/", ["169.254.169.254"]),
        ("http://v6.example/", ["::1"]),
        ("http://mixed.example/", ["93.184.216.34", "192.168.1.1"]),
        ("ftp://files.example/", ["93.184.216.34"]),
        ("file:///etc/passwd", []),
    ],
)
def test_a_private_or_non_http_url_is_refused_at_registration(
    token_client, staff, monkeypatch, url, resolved
):
    monkeypatch.setattr(addresses, "resolve", lambda host, port: resolved)

    response = token_client(staff).post(URL, {"url": url, "event_types": ["*"]})

    assert response.status_code == 400
    assert response.json()["code"] == "unsafe_url"
    assert not WebhookEndpoint.objects.exists()


def test_a_public_address_is_accepted(token_client, staff, monkeypatch):
    monkeypatch.setattr(addresses, "resolve", lambda host, port: ["93.184.216.34"])
    response = token_client(staff).post(
        URL, {"url": "https://hooks.example/in", "event_types": ["*"]}
    )
    assert response.status_code == 201


def test_an_unknown_verb_is_a_400_naming_the_field(token_client, staff, receiver):
    response = token_client(staff).post(URL, {"url": receiver.url, "event_types": ["nope"]})
    assert response.status_code == 400 and "event_types" in response.json()


@pytest.mark.parametrize("role", [StudentFactory, InstructorFactory])
def test_only_staff(token_client, role):
    WebhookEndpointFactory()
    assert token_client(role()).get(URL).status_code == 403


def test_ping_deliveries_with_attempts_redeliver_and_rotate(
    token_client, staff, receiver, run_tasks
):
    api = token_client(staff)
    endpoint = WebhookEndpointFactory(url=receiver.url, event_types=["credits.granted"])
    receiver.script = [500]
    grant_credits(student=StudentFactory(), amount=2, note="t", by=staff)
    run_tasks()

    ping = api.post(f"{URL}{endpoint.pk}/ping/")
    assert ping.status_code == 202 and ping.json()["verb"] == "webhook.ping"
    run_tasks()
    rows = api.get(f"{URL}{endpoint.pk}/deliveries/").json()["results"]
    assert [row["verb"] for row in rows] == ["webhook.ping", "credits.granted"]
    assert [a["status_code"] for a in rows[1]["attempt_log"]] == [500, 200]

    again = api.post(f"/api/v1/webhook-deliveries/{rows[1]['id']}/redeliver/")
    assert again.status_code == 202
    run_tasks()
    assert len(receiver.requests) == 4
    assert receiver.requests[-1].headers["webhook-id"] == rows[1]["webhook_id"]
    assert WebhookDelivery.objects.get(pk=rows[1]["id"]).attempts == 3

    rotated = api.post(f"{URL}{endpoint.pk}/rotate-secret/")
    assert rotated.status_code == 200 and rotated.json()["secret"] != endpoint.secret


def test_a_disabled_endpoint_refuses_a_ping(token_client, staff):
    endpoint = WebhookEndpointFactory(is_active=False)
    response = token_client(staff).post(f"{URL}{endpoint.pk}/ping/")
    assert response.status_code == 409 and response.json()["code"] == "endpoint_disabled"


def test_reactivating_clears_the_reason(token_client, staff):
    endpoint = WebhookEndpointFactory(is_active=False, disabled_reason="410 Gone")
    response = token_client(staff).patch(f"{URL}{endpoint.pk}/", {"is_active": True})
    assert response.status_code == 200
    assert response.json()["disabled_reason"] == ""
