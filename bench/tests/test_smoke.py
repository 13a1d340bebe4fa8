"""The benchmark at its smallest scale, so that it cannot rot unnoticed."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import models

ROOT = Path(__file__).resolve().parents[2]


def test_benchmark_runs_end_to_end_at_the_smallest_scale(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    result = subprocess.run(
        [
            sys.executable,
            "bench/run.py",
            "--scales",
            "30",
            "--requests",
            "5",
            "--warmup",
            "1",
            "--throughput-threads",
            "3",
            "--throughput-students",
            "6",
            "--output",
            str(tmp_path),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    report = json.loads((tmp_path / "results.json").read_text())
    assert (tmp_path / "latency.png").stat().st_size > 0
    assert "| sessions |" in result.stdout
    rows = report["lists"]
    assert {(r["page_size"], r["page"]) for r in rows} == {
        (50, "first"),
        (50, "last"),
        (500, "first"),
        (500, "last"),
    }
    # Token auth, the count and the page: three statements whatever the page.
    assert {r["queries"] for r in rows} == {3}
    assert all(r["rows"] == 30 for r in rows)
    # The floor behind the same gunicorn answered every timed request.
    assert all(r["floor_http"]["p50_ms"] > 0 for r in rows)
    assert "| floor over HTTP p50 / p95 (ms) |" in result.stdout
    # The reports rows: the group register (page, API, XLSX) and the dashboard, each timed.
    assert [r["report"].split(",")[0] for r in report["reports"]] == [
        "register page",
        "register API",
        "register XLSX",
        "dashboard page",
    ]
    assert all(r["p50_ms"] > 0 for r in report["reports"])
    assert "| report |" in result.stdout
    if report["database"] == "postgresql":
        throughput = report["booking_throughput"]
        assert throughput["server_errors"] == 0
        assert throughput["sessions_over_capacity"] == []
        assert throughput["integrity_exit_code"] == 0


@pytest.mark.django_db
def test_the_instruction_count_runs_its_requests(settings):
    """bench/instructions.py's measured part; valgrind around it is too slow for the suite."""
    from django.core import signals
    from django.db import close_old_connections
    from rest_framework.authtoken.models import Token

    from bench.instructions import run_requests
    from bench.load import ensure_people, grow_to

    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_CLASSES": []}
    settings.ALLOWED_HOSTS = ["127.0.0.1"]
    master, _, _ = ensure_people()
    Token.objects.create(user=master)
    grow_to(3, "3")
    # As Django's test client does: the handler would otherwise close the test's connection.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        run_requests(page_size=2, requests=2)
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@pytest.mark.django_db
def test_the_bench_ledger_charges_every_booking_and_reconciles():
    from django.db.models import Sum

    from bench.load import grow_to
    from bookings.integrity import check_integrity
    from bookings.models import Booking, CreditTransaction

    grow_to(3, "3")
    grow_to(5, "5")  # a second growth charges only the new bookings
    bookings = Booking.objects.all()
    charges = CreditTransaction.objects.filter(kind="booking")
    assert bookings.count() == charges.count() == 5 * 20
    assert set(bookings.values_list("credits_charged", flat=True)) == {1}
    assert set(charges.values_list("amount", flat=True)) == {-1}
    # Each charge is dated as its booking.
    assert not charges.exclude(created_at=models.F("booking__created_at")).exists()
    grants = CreditTransaction.objects.filter(kind="grant", booking__isnull=True)
    assert grants.aggregate(total=Sum("amount"))["total"] == 5 * 20
    assert CreditTransaction.objects.count() == charges.count() + grants.count()
    assert check_integrity() == []
