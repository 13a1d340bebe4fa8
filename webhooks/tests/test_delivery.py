"""Deliveries to a real HTTP receiver on loopback, through the queue run in this process."""

import base64
import hashlib
import hmac
import json
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.tests.factories import StudentFactory
from activity import verbs
from activity.services import build, record_many
from bookings.services import book_session, grant_credits
from scheduling.tests.factories import SessionFactory
from webhooks import addresses
from webhooks.models import WebhookDelivery, WebhookEndpoint
from webhooks.services import endpoint_rotate_secret

from .factories import WebhookEndpointFactory

pytestmark = pytest.mark.django_db


def verify(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """Standard Webhooks verification written from the spec, not with the app's code."""
    key = base64.b64decode(secret[len("whsec_") :])
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return any(
        hmac.compare_digest(part.split(",", 1)[1], expected)
        for part in headers["webhook-signature"].split(" ")
        if part.startswith("v1,")
    )


def booked(staff, session=None):
    student = StudentFactory()
    grant_credits(student=student, amount=5, note="t", by=staff)
    return book_session(student=student, session=session or SessionFactory(), by=student)


def test_a_booking_arrives_signed_with_the_staff_view_of_the_booking(receiver, run_tasks, staff):
    endpoint = WebhookEndpointFactory(url=receiver.url, event_types=[verbs.BOOKING_CONFIRMED])

    booking = booked(staff)
    run_tasks()

    [request] = receiver.requests
    assert request.path == "/hooks"
    assert verify(endpoint.secret, request.headers, request.body)
    assert not verify(WebhookEndpointFactory.build().secret, request.headers, request.body)
    assert abs(int(request.headers["webhook-timestamp"]) - timezone.now().timestamp()) < 60
    body = json.loads(request.body)
    assert body["type"] == "booking.confirmed"
    data = body["data"]
    assert (data["target_type"], data["target_id"]) == ("bookings.booking", booking.pk)
    assert (data["session"], data["student"], data["sequence"]) == (
        booking.session_id,
        booking.student_id,
        1,
    )
    assert data["object"]["id"] == booking.pk and data["object"]["status"] == "confirmed"
    assert data["changes"] == {"credits_charged": booking.credits_charged}
    delivery = WebhookDelivery.objects.get()
    assert request.headers["webhook-id"] == delivery.webhook_id
    assert (delivery.status, delivery.attempts) == ("succeeded", 1)


def test_a_session_change_carries_the_session_as_the_api_renders_it(receiver, run_tasks, staff):
    WebhookEndpointFactory(url=receiver.url, event_types=["session.*", verbs.SESSION_UPDATED])
    session = SessionFactory(session_type="virtual", meeting_link="https://meet.example/x")
    from bookings.services import session_update

    session_update(session=session, by=staff, capacity=session.capacity + 1)
    run_tasks()

    [request] = receiver.requests
    rendered = json.loads(request.body)["data"]["object"]
    assert rendered["capacity"] == session.capacity
    assert rendered["meeting_link"] == "https://meet.example/x"  # staff see the link
    assert rendered["confirmed_count"] == 0


def test_500s_then_success_deliver_exactly_once_with_one_webhook_id(receiver, run_tasks, staff):
    WebhookEndpointFactory(url=receiver.url)
    receiver.script = [500, 500, 503]
    grant_credits(student=StudentFactory(), amount=3, note="t", by=staff)

    assert run_tasks() == 1 + 4  # the grant's email, four attempts

    assert [r.headers["webhook-id"] for r in receiver.requests] == [
        receiver.requests[0].headers["webhook-id"]
    ] * 4
    assert len({r.body for r in receiver.requests}) == 1  # the same payload every time
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("succeeded", 4)
    log = list(delivery.attempt_log.values_list("status_code", flat=True))
    assert log == [500, 500, 503, 200]
    excerpt = delivery.attempt_log.first().response_excerpt
    assert len(excerpt) == 1024  # the 5,000-byte body is cut at the limit
    assert run_tasks() == 0
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.failing_since is None and endpoint.is_active


def test_retries_back_off_with_jitter(receiver, run_tasks, staff, settings):
    settings.WEBHOOKS_RETRY_BASE_SECONDS = 60
    WebhookEndpointFactory(url=receiver.url)
    receiver.default = 500
    grant_credits(student=StudentFactory(), amount=3, note="t", by=staff)

    run_tasks()

    delivery = WebhookDelivery.objects.get()
    attempt = delivery.attempt_log.get()
    wait = (delivery.next_attempt_at - attempt.created_at).total_seconds()
    assert 48 <= wait <= 72 and attempt.next_attempt_at == delivery.next_attempt_at
    assert delivery.status == "pending"


def test_a_redirect_is_not_followed(receiver, run_tasks, staff):
    WebhookEndpointFactory(url=receiver.url)
    receiver.script = [302]
    grant_credits(student=StudentFactory(), amount=3, note="t", by=staff)

    run_tasks()

    assert len(receiver.requests) == 2  # the 302 was a failure, retried at our URL
    assert all(r.path == "/hooks" for r in receiver.requests)


def test_410_disables_the_endpoint(receiver, run_tasks, staff):
    WebhookEndpointFactory(url=receiver.url)
    receiver.script = [410]
    grant_credits(student=StudentFactory(), amount=3, note="t", by=staff)

    run_tasks()

    endpoint = WebhookEndpoint.objects.get()
    assert not endpoint.is_active and "410" in endpoint.disabled_reason
    assert WebhookDelivery.objects.get().status == "failed"
    grant_credits(student=StudentFactory(), amount=3, note="t", by=staff)
    assert WebhookDelivery.objects.count() == 1  # a disabled endpoint gets nothing new
    assert len(receiver.requests) == 1


def test_a_day_of_failures_disables_the_endpoint_with_a_reason(
    receiver, run_tasks, staff, clock, settings
):
    settings.WEBHOOKS_RETRY_BASE_SECONDS = 600  # each retry waits: one batch, one attempt
    start = timezone.now()
    clock(start)
    endpoint = WebhookEndpointFactory(url=receiver.url)
    receiver.default = 500
    grant_credits(student=StudentFactory(), amount=3, note="t", by=staff)
    run_tasks()
    endpoint.refresh_from_db()
    assert endpoint.is_active and endpoint.failing_since == start

    clock(start + timedelta(days=1, minutes=1))
    run_tasks()  # the retry, now due, fails a day after the first failure

    endpoint.refresh_from_db()
    assert not endpoint.is_active
    assert "failed for 1 day" in endpoint.disabled_reason and "500" in endpoint.disabled_reason
    assert WebhookDelivery.objects.get().status == "failed"
    assert len(receiver.requests) == 2


def test_a_rolled_back_change_delivers_nothing(receiver, run_tasks, staff):
    WebhookEndpointFactory(url=receiver.url)

    with pytest.raises(RuntimeError), transaction.atomic():
        grant_credits(student=StudentFactory(), amount=3, note="t", by=staff)
        raise RuntimeError("the writer fails after recording")

    assert run_tasks() == 0
    assert receiver.requests == [] and not WebhookDelivery.objects.exists()


def test_a_name_that_resolves_privately_at_delivery_is_refused(
    receiver, run_tasks, staff, settings, monkeypatch
):
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    WebhookEndpointFactory(url="http://hooks.example.test/in")
    # Public when registered; the attacker's DNS now answers loopback (rebinding).
    monkeypatch.setattr(addresses, "resolve", lambda host, port: ["127.0.0.1"])
    settings.WEBHOOKS_RETRY_BASE_SECONDS = 3600
    grant_credits(student=StudentFactory(), amount=3, note="t", by=staff)

    run_tasks()

    assert receiver.requests == []
    attempt = WebhookDelivery.objects.get().attempt_log.get()
    assert attempt.status_code is None and "non-public address (127.0.0.1)" in attempt.error


def test_the_connection_goes_to_the_checked_address(receiver, run_tasks, staff, monkeypatch):
    port = receiver.url.split(":")[2].split("/")[0]
    WebhookEndpointFactory(url=f"http://hooks.example.test:{port}/hooks")
    monkeypatch.setattr(addresses, "resolve", lambda host, port: ["127.0.0.1"])
    grant_credits(student=StudentFactory(), amount=3, note="t", by=staff)

    run_tasks()

    [request] = receiver.requests
    assert request.headers["host"] == f"hooks.example.test:{port}"


def test_during_a_rotation_both_secrets_sign(receiver, run_tasks, staff, clock):
    endpoint = WebhookEndpointFactory(url=receiver.url)
    old = endpoint.secret
    new = endpoint_rotate_secret(endpoint=endpoint, by=staff)

    grant_credits(student=StudentFactory(), amount=3, note="t", by=staff)
    run_tasks()
    first = receiver.requests[-1]
    assert len(first.headers["webhook-signature"].split(" ")) == 2
    assert verify(old, first.headers, first.body) and verify(new, first.headers, first.body)

    clock(timezone.now() + timedelta(hours=24, seconds=1))
    grant_credits(student=StudentFactory(), amount=3, note="t", by=staff)
    run_tasks()
    later = receiver.requests[-1]
    assert verify(new, later.headers, later.body) and not verify(old, later.headers, later.body)


def test_sequence_numbers_count_per_endpoint_and_object(receiver, run_tasks, staff):
    first = WebhookEndpointFactory(url=receiver.url)
    WebhookEndpointFactory(url=receiver.url)
    session = SessionFactory()
    from bookings.services import session_update

    for capacity in (21, 22, 23):
        session_update(session=session, by=staff, capacity=capacity)

    rows = WebhookDelivery.objects.filter(endpoint=first, target_type="scheduling.session")
    assert sorted(rows.values_list("sequence", flat=True)) == [1, 2, 3]
    assert set(WebhookDelivery.objects.values_list("sequence", flat=True)) == {1, 2, 3}


def test_a_thousand_activities_to_three_endpoints_arrive_without_loss(receiver, run_tasks, staff):
    for _ in range(3):
        WebhookEndpointFactory(url=receiver.url)
    receiver.script = [500] * 50  # some fail first, and are retried
    student = StudentFactory()
    with transaction.atomic():
        record_many(
            [
                build(actor=staff, verb=verbs.CREDITS_GRANTED, target=student, amount=n, note="")
                for n in range(1000)
            ]
        )

    run_tasks()

    assert WebhookDelivery.objects.filter(status="succeeded").count() == 3000
    delivered = {r.headers["webhook-id"] for r in receiver.requests}
    assert len(delivered) == 3000 and len(receiver.requests) == 3050
    assert set(WebhookDelivery.objects.values_list("webhook_id", flat=True)) == delivered


# service_transaction: SAVEPOINT + RELEASE, plus on PostgreSQL the SET LOCAL lock_timeout.
TRANSACTION = 2 + (1 if connection.vendor == "postgresql" else 0)


@pytest.mark.parametrize(
    ("registered", "budget"),
    [
        # lock the session with the eligibility, count the seats and the live booking,
        # debit, booking, ledger row, the activity, the email task rows (bookings' own
        # count, 7); the activity's INSERT asks whether an endpoint is active: still 7.
        ([], 7),
        # An active endpoint that wants other verbs: one read of the active endpoints.
        ([["session.created"]], 8),
        # A matching one: the read, one INSERT of the deliveries, one of their task rows.
        ([["booking.confirmed"]], 10),
        # Three matching: still one INSERT each.
        ([["*"], ["booking.confirmed"], ["session.created", "booking.confirmed"]], 10),
    ],
)
def test_a_booking_costs_three_statements_more_with_endpoints(
    staff, django_assert_num_queries, registered, budget
):
    for event_types in registered:
        WebhookEndpointFactory(event_types=event_types)
    session = SessionFactory(capacity=40)
    student = StudentFactory()
    grant_credits(student=student, amount=5, note="t", by=staff)
    student.refresh_from_db()

    with django_assert_num_queries(TRANSACTION + budget):
        book_session(student=student, session=session, by=student)


def test_only_active_endpoints_wake_the_subscriber(staff, django_assert_num_queries):
    """The activity's INSERT asks whether an endpoint is active; a disabled one is not."""
    WebhookEndpointFactory(event_types=["*"], is_active=False)
    session = SessionFactory(capacity=40)
    student = StudentFactory()
    grant_credits(student=student, amount=5, note="t", by=staff)
    student.refresh_from_db()

    with django_assert_num_queries(TRANSACTION + 7):
        book_session(student=student, session=session, by=student)
    assert not WebhookDelivery.objects.exists()

    # Switched on between two writes: the very next write sees it, nothing is cached.
    WebhookEndpoint.objects.update(is_active=True)
    other = StudentFactory()
    grant_credits(student=other, amount=5, note="t", by=staff)
    book_session(student=other, session=session, by=other)
    assert WebhookDelivery.objects.filter(verb="booking.confirmed").count() == 1


def test_the_deliveries_and_their_tasks_are_one_insert_each(staff):
    for _ in range(3):
        WebhookEndpointFactory()
    session = SessionFactory(capacity=40)
    student = StudentFactory()
    grant_credits(student=student, amount=5, note="t", by=staff)

    with CaptureQueriesContext(connection) as captured:
        book_session(student=student, session=session, by=student)

    inserts = [q["sql"] for q in captured.captured_queries if q["sql"].startswith("INSERT")]
    assert sum('"webhooks_webhookdelivery"' in sql for sql in inserts) == 1
    assert WebhookDelivery.objects.filter(verb="booking.confirmed").count() == 3
