"""/metrics: who may read it, and that it reports requests, queries and booking outcomes."""

import json

import pytest
from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.test import RequestFactory
from prometheus_client.parser import text_string_to_metric_families

from accounts.tests.factories import StaffFactory, StudentFactory
from bookings.services import book_session, grant_credits
from config.errors import Conflict
from config.metrics import RequestMetricsMiddleware
from scheduling.tests.factories import SessionFactory

pytestmark = pytest.mark.django_db

TOKEN = "scrape-token-for-tests"


def scrape(client) -> dict[tuple[str, frozenset], float]:
    """Every sample of the exposition, keyed by name and labels."""
    response = client.get("/metrics")
    assert response.status_code == 200, response.content
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


@pytest.fixture
def staff_client(client):
    client.force_login(StaffFactory())
    return client


@pytest.fixture
def _token(settings):
    settings.METRICS_TOKEN = TOKEN


def test_anonymous_callers_are_asked_to_authenticate(client):
    response = client.get("/metrics")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="metrics"'
    assert b"practica_" not in response.content


def test_a_logged_in_non_staff_user_is_refused(client):
    client.force_login(StudentFactory())
    assert client.get("/metrics").status_code == 403


@pytest.mark.usefixtures("_token")
@pytest.mark.parametrize(
    "header",
    [
        f"Bearer {TOKEN}x",
        f"Bearer {TOKEN[:-1]}",
        "Bearer ",
        f"Token {TOKEN}",  # a DRF token header is not the scrape token
    ],
)
def test_a_wrong_bearer_token_is_refused(client, header):
    response = client.get("/metrics", HTTP_AUTHORIZATION=header)
    assert response.status_code in (401, 403)
    assert b"practica_" not in response.content


def test_no_bearer_token_matches_while_metrics_token_is_unset(client, settings):
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 403


@pytest.mark.usefixtures("_token")
def test_the_scrape_token_is_accepted(client):
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    assert b"# TYPE practica_db_queries_per_request histogram" in response.content


def test_staff_sessions_are_accepted(staff_client):
    response = staff_client.get("/metrics")
    assert response.status_code == 200
    assert b"# TYPE practica_db_queries_per_request histogram" in response.content


def test_metrics_refuses_writes(staff_client):
    assert staff_client.post("/metrics").status_code == 405


def test_a_request_is_measured_per_view_with_its_queries(staff_client):
    before = scrape(staff_client)
    assert staff_client.get("/healthz").status_code == 200
    after = scrape(staff_client)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert (
        delta(
            "django_http_requests_latency_seconds_by_view_method_count",
            **{"view": "healthz", "method": "GET"},
        )
        == 1
    )
    assert (
        delta(
            "django_http_responses_total_by_status_view_method_total",
            **{"status": "200", "view": "healthz", "method": "GET"},
        )
        == 1
    )
    # /healthz runs exactly one statement (SELECT 1); the staff session is never loaded.
    assert delta("practica_db_queries_per_request_count", view="healthz") == 1
    assert delta("practica_db_queries_per_request_sum", view="healthz") == 1
    assert delta("practica_db_query_seconds_count", view="healthz") == 1
    assert delta("practica_db_query_seconds_sum", view="healthz") > 0


def test_a_request_that_resolves_no_view_is_labelled_as_such(staff_client):
    before = scrape(staff_client)
    assert staff_client.get("/no-such-page/").status_code == 404
    after = scrape(staff_client)
    name = "practica_db_queries_per_request_count"
    assert value(after, name, view="<unresolved>") - value(before, name, view="<unresolved>") == 1


def booking_outcome(samples: dict, outcome: str, code: str = "none") -> float:
    return value(samples, "practica_booking_outcomes_total", outcome=outcome, code=code)


def test_booking_outcomes_are_exposed_once_committed(
    staff_client, django_capture_on_commit_callbacks
):
    session = SessionFactory(capacity=1, credit_cost=2)
    staff = StaffFactory()
    first, second = StudentFactory(), StudentFactory()
    for student in (first, second):
        grant_credits(student=student, amount=2, by=staff)
    before = scrape(staff_client)

    with django_capture_on_commit_callbacks(execute=True):
        book_session(student=first, session=session, by=first)
    with django_capture_on_commit_callbacks(execute=True):
        book_session(student=second, session=session, by=second)

    after = scrape(staff_client)
    assert booking_outcome(after, "confirmed") - booking_outcome(before, "confirmed") == 1
    assert booking_outcome(after, "waitlisted") - booking_outcome(before, "waitlisted") == 1


def test_a_booking_rolled_back_by_a_refusal_is_not_counted(
    staff_client, django_capture_on_commit_callbacks
):
    # The seat is free, so the row is inserted as confirmed before the charge fails.
    session = SessionFactory(capacity=5, credit_cost=3)
    broke = StudentFactory()
    before = scrape(staff_client)

    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(Conflict) as refusal,
    ):
        book_session(student=broke, session=session, by=broke)

    assert refusal.value.code == "insufficient_credits"
    assert callbacks == []
    after = scrape(staff_client)
    assert booking_outcome(after, "confirmed") == booking_outcome(before, "confirmed")


def refusal_response(code: str | None, status: int = 409, **headers: str) -> HttpResponse:
    body = {"detail": "Refused.", "code": code} if code else {"detail": "Refused."}
    response = JsonResponse(body, status=status)
    for name, header in headers.items():
        response[name] = header
    return response


def run_middleware(method: str, path: str, response: HttpResponse) -> None:
    request = RequestFactory().generic(method, path, json.dumps({"session": 1}))
    assert RequestMetricsMiddleware(lambda request: response)(request) is response


@pytest.mark.parametrize(
    ("method", "path", "response", "counted_code"),
    [
        ("POST", "/api/v1/bookings/", refusal_response("session_started"), "session_started"),
        ("POST", "/api/v1/bookings/", refusal_response("already_booked"), "already_booked"),
        ("POST", "/api/v1/bookings/", refusal_response(None), "unknown"),
        ("POST", "/api/v1/bookings/", HttpResponse("not json", status=409), "unknown"),
        # A replay repeats the first answer, which was counted when it was given.
        (
            "POST",
            "/api/v1/bookings/",
            refusal_response("session_full", **{"Idempotent-Replayed": "true"}),
            None,
        ),
        ("POST", "/api/v1/bookings/", refusal_response("not_eligible", status=403), None),
        ("POST", "/api/v1/bookings/7/cancel/", refusal_response("already_cancelled"), None),
        ("GET", "/api/v1/bookings/", refusal_response("session_full"), None),
        ("POST", "/api/v1/sessions/", refusal_response("protected"), None),
    ],
)
def test_refusals_are_counted_from_the_booking_endpoint_only(
    staff_client, method, path, response, counted_code
):
    before = scrape(staff_client)
    run_middleware(method, path, response)
    after = scrape(staff_client)
    refused = {
        labels: sample - before.get((name, labels), 0.0)
        for (name, labels), sample in after.items()
        if name == "practica_booking_outcomes_total" and ("outcome", "refused") in labels
    }
    changed = {dict(labels)["code"]: delta for labels, delta in refused.items() if delta}
    assert changed == ({counted_code: 1} if counted_code else {})


def test_the_booking_api_is_counted_end_to_end(
    staff_client, token_client, django_capture_on_commit_callbacks
):
    session = SessionFactory(capacity=5, credit_cost=1)
    student = StudentFactory()
    grant_credits(student=student, amount=1, by=StaffFactory())
    api = token_client(student)
    before = scrape(staff_client)

    with django_capture_on_commit_callbacks(execute=True):
        assert api.post("/api/v1/bookings/", {"session": session.pk}).status_code == 201
    with django_capture_on_commit_callbacks(execute=True):
        again = api.post("/api/v1/bookings/", {"session": session.pk})
    assert (again.status_code, again.json()["code"]) == (409, "already_booked")

    after = scrape(staff_client)
    assert booking_outcome(after, "confirmed") - booking_outcome(before, "confirmed") == 1
    refused = [booking_outcome(s, "refused", "already_booked") for s in (before, after)]
    assert refused[1] - refused[0] == 1


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SQLite takes no row locks (no FOR UPDATE)"
)
def test_a_booking_times_its_session_lock_and_a_refused_one_only_its_wait(
    staff_client, token_client, django_capture_on_commit_callbacks
):
    session = SessionFactory(capacity=5, credit_cost=1)
    student = StudentFactory()
    grant_credits(student=student, amount=1, by=StaffFactory())
    api = token_client(student)
    view = "booking-list"
    before = scrape(staff_client)

    with django_capture_on_commit_callbacks(execute=True):
        assert api.post("/api/v1/bookings/", {"session": session.pk}).status_code == 201
    with django_capture_on_commit_callbacks(execute=True):
        assert api.post("/api/v1/bookings/", {"session": session.pk}).status_code == 409
    assert api.get("/api/v1/sessions/").status_code == 200

    after = scrape(staff_client)

    def moved(name: str, label: str = view) -> float:
        return value(after, name, view=label) - value(before, name, view=label)

    # Both requests waited for the lock; only the committed one held it until a commit.
    assert moved("practica_session_lock_wait_seconds_count") == 2
    assert moved("practica_session_lock_held_seconds_count") == 1
    assert moved("practica_session_lock_held_seconds_sum") > 0
    # A read takes no lock.
    assert moved("practica_session_lock_wait_seconds_count", "session-list") == 0
