"""The queue's backlog in /readyz, and queue, outcomes and delivery in /metrics."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from accounts.tests.factories import StaffFactory, StudentFactory
from bookings.services import grant_credits

pytestmark = pytest.mark.django_db


def metric(body: str, name: str) -> dict[str, float]:
    """`{labels: value}` of one metric family in a text exposition."""
    values = {}
    for line in body.splitlines():
        if line.startswith(name) and not line.startswith("#"):
            labels, _, value = line.rpartition(" ")
            values[labels[len(name) :]] = float(value)
    return values


def test_readyz_reports_the_oldest_ready_task_without_failing(client, staff_grant):
    staff_grant(2)
    DBTaskResult.objects.update(enqueued_at=timezone.now() - timedelta(minutes=5))

    response = client.get("/readyz")

    assert response.status_code == 200
    body = response.json()
    assert body["ready_tasks"] == 2
    assert 299 <= body["oldest_ready_task_seconds"] <= 330


def test_a_deferred_task_waits_from_its_due_time_not_its_enqueue_time(client, staff_grant):
    staff_grant(1)
    due = timezone.now() - timedelta(seconds=30)
    DBTaskResult.objects.update(enqueued_at=due - timedelta(days=2), run_after=due)

    assert 29 <= client.get("/readyz").json()["oldest_ready_task_seconds"] <= 60


def test_metrics_export_queue_depth_outcomes_and_delivery_latency(client, staff_grant, run_tasks):
    staff_grant(3)
    run_tasks()
    staff_grant(1)
    client.force_login(StaffFactory())

    body = client.get("/metrics").content.decode()

    assert metric(body, "practica_task_queue_depth") == {
        '{state="ready"}': 1.0,
        '{state="scheduled"}': 0.0,
        '{state="running"}': 0.0,
    }
    assert metric(body, "practica_task_outcomes") == {
        '{outcome="successful",task="send_activity_email"}': 3.0
    }
    assert metric(body, "practica_emails_last_hour") == {'{status="sent"}': 3.0}
    latency = metric(body, "practica_email_delivery_seconds")
    assert set(latency) == {'{quantile="0.5"}', '{quantile="0.9"}', '{quantile="0.99"}'}
    assert all(0 <= seconds < 60 for seconds in latency.values())
    assert "practica_task_oldest_ready_seconds" in body


@pytest.fixture
def staff_grant():
    """`staff_grant(n)`: n credit grants, each one email task in the queue."""
    staff = StaffFactory()

    def grant(count: int) -> None:
        for _ in range(count):
            grant_credits(student=StudentFactory(), amount=1, by=staff)

    return grant
