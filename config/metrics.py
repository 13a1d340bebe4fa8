"""Prometheus metrics at `/metrics`, for staff sessions or `Authorization: Bearer <METRICS_TOKEN>`.

django-prometheus's middleware pair measures latency per view and response codes.
This module adds what it cannot see without swapping the database ENGINE: the
queries each request runs and how long each takes, how long a write waits for a
session's row lock and then holds it (from the locking statement's return to the
commit), and the outcome of every
booking: confirmed or waitlisted (counted by an after-commit subscriber of the
`booking.*` activities, so a booking rolled back by a later refusal is not counted)
or refused (counted from the 409 that `POST /api/v1/bookings/` answers, with its stable `code`).

Under gunicorn with several workers each process has its own counters: set
`PROMETHEUS_MULTIPROC_DIR` to an empty directory writable by the workers and
`/metrics` then adds up every worker's (config/gunicorn.py prepares the directory
and forgets dead workers).
"""

import hmac
import json
import os
import time
from collections.abc import Callable
from typing import Any

import prometheus_client
from django.apps import AppConfig
from django.conf import settings
from django.db import connection, transaction
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_safe
from prometheus_client import CollectorRegistry, Counter, Histogram, multiprocess

# The activity channel is the one import of the domain here: it sits below every app.
from activity.subscribers import subscribe

BOOKINGS_PATH = "/api/v1/bookings/"
UNRESOLVED_VIEW = "<unresolved>"
NO_CODE = "none"

BOOKING_OUTCOMES = Counter(
    "practica_booking_outcomes_total",
    "Booking requests by outcome (confirmed, waitlisted, refused) and refusal code.",
    ["outcome", "code"],
)
DB_QUERIES_PER_REQUEST = Histogram(
    "practica_db_queries_per_request",
    "Database statements one request ran, by view.",
    ["view"],
    buckets=(0, 1, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 50, 100),
)
DB_QUERY_SECONDS = Histogram(
    "practica_db_query_seconds",
    "Duration of each database statement, by the view that ran it.",
    ["view"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)

LOCK_BUCKETS = (
    0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05,
    0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0,
)  # fmt: skip
SESSION_LOCK_WAIT_SECONDS = Histogram(
    "practica_session_lock_wait_seconds",
    "Time a write's statement took to lock session rows (waiting for other writers), by view.",
    ["view"],
    buckets=LOCK_BUCKETS,
)
SESSION_LOCK_HELD_SECONDS = Histogram(
    "practica_session_lock_held_seconds",
    "Time session row locks were held, from the locking statement to the commit, by view.",
    ["view"],
    buckets=LOCK_BUCKETS,
)
SESSION_TABLE = 'FROM "scheduling_session"'


class _QueryTimer:
    """A `connection.execute_wrapper` that times every statement of one request, and the
    first session row lock it takes: the wait for it, and how long it is held until the
    transaction commits (a rolled-back transaction is not counted)."""

    def __init__(self, request: HttpRequest) -> None:
        self.request = request
        self.durations: list[float] = []
        self.lock_timed = False

    def __call__(
        self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any
    ) -> Any:
        started = time.perf_counter()
        try:
            result = execute(sql, params, many, context)
        finally:
            finished = time.perf_counter()
            self.durations.append(finished - started)
        if not self.lock_timed and "FOR UPDATE" in sql and SESSION_TABLE in sql:
            self._time_lock(started, finished)
        return result

    def _time_lock(self, started: float, acquired: float) -> None:
        self.lock_timed = True
        view = _view_name(self.request)
        SESSION_LOCK_WAIT_SECONDS.labels(view=view).observe(acquired - started)
        held = SESSION_LOCK_HELD_SECONDS.labels(view=view)
        transaction.on_commit(lambda: held.observe(time.perf_counter() - acquired))


def _view_name(request: HttpRequest) -> str:
    match = getattr(request, "resolver_match", None)
    return (match.view_name if match else None) or UNRESOLVED_VIEW


def _refusal_code(response: HttpResponse) -> str:
    data = getattr(response, "data", None)
    if data is None:
        try:
            data = json.loads(response.content)
        except (ValueError, UnicodeDecodeError):
            data = None
    code = data.get("code") if isinstance(data, dict) else None
    return str(code) if code else "unknown"


def _is_booking_refusal(request: HttpRequest, response: HttpResponse) -> bool:
    # A replayed idempotent response repeats an outcome already counted.
    return (
        request.method == "POST"
        and request.path_info == BOOKINGS_PATH
        and response.status_code == 409
        and response.headers.get("Idempotent-Replayed") != "true"
    )


class RequestMetricsMiddleware:
    """Counts each request's database statements and the bookings the API refuses."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        timer = _QueryTimer(request)
        with connection.execute_wrapper(timer):
            response = self.get_response(request)
        view = _view_name(request)
        DB_QUERIES_PER_REQUEST.labels(view=view).observe(len(timer.durations))
        seconds = DB_QUERY_SECONDS.labels(view=view)
        for duration in timer.durations:
            seconds.observe(duration)
        if _is_booking_refusal(request, response):
            BOOKING_OUTCOMES.labels(outcome="refused", code=_refusal_code(response)).inc()
        return response


# The booking activities that are an outcome of a booking request, by their outcome label.
OUTCOME_OF_VERB = {"booking.confirmed": "confirmed", "booking.waitlisted": "waitlisted"}


def count_booking_outcome(activity: Any) -> None:
    """After commit, so a booking rolled back by a later refusal is never counted."""
    outcome = OUTCOME_OF_VERB.get(activity.verb)
    if outcome is not None:
        BOOKING_OUTCOMES.labels(outcome=outcome, code=NO_CODE).inc()


class MetricsConfig(AppConfig):
    name = "config"
    label = "practica_metrics"
    verbose_name = "Practica metrics"

    def ready(self) -> None:
        subscribe("booking.*", count_booking_outcome)


# Collectors whose figures are read from the database when /metrics is scraped (the task
# queue, the email log): the same from every process, wherever the workers run. Apps add
# theirs in AppConfig.ready().
SCRAPE_TIME_COLLECTORS: list[Any] = []


def _scrape_time_exposition() -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    for collector in SCRAPE_TIME_COLLECTORS:
        registry.register(collector)
    return prometheus_client.generate_latest(registry)


def _bearer_token(request: HttpRequest) -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


def _token_matches(token: str) -> bool:
    expected = settings.METRICS_TOKEN
    # An unset METRICS_TOKEN must never match an empty bearer token.
    return bool(expected) and hmac.compare_digest(token.encode(), expected.encode())


def _registry() -> CollectorRegistry:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    return prometheus_client.REGISTRY


@require_safe
def metrics(request: HttpRequest) -> HttpResponse:
    """The Prometheus text exposition; 401 without credentials, 403 with wrong ones."""
    token = _bearer_token(request)
    if token is not None:
        allowed = _token_matches(token)
    else:
        user = request.user
        if not user.is_authenticated:
            response = HttpResponse("Authentication required.\n", status=401)
            response["WWW-Authenticate"] = 'Bearer realm="metrics"'
            return response
        allowed = user.is_staff
    if not allowed:
        return HttpResponse("Forbidden.\n", status=403)
    body = prometheus_client.generate_latest(_registry()) + _scrape_time_exposition()
    return HttpResponse(body, content_type=prometheus_client.CONTENT_TYPE_LATEST)
