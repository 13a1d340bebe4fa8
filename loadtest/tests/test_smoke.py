"""The load test at its smallest, end to end: on PostgreSQL when DATABASE_URL points at
one (the PostgreSQL CI pass), on a temporary SQLite file otherwise."""

import json
import os
import subprocess
import sys
from pathlib import Path

from ops import scratch_db

ROOT = Path(__file__).resolve().parents[2]


def test_the_load_test_runs_end_to_end_and_the_server_counts_what_clients_saw(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    result = subprocess.run(
        [
            sys.executable,
            "loadtest/run.py",
            *("--users", "5", "--duration", "5", "--sessions", "8"),
            *("--capacity", "2", "--credits", "4", "--output", str(tmp_path)),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    report = json.loads((tmp_path / "results.json").read_text())
    expected = (
        "postgresql" if scratch_db.is_postgresql(os.environ.get("DATABASE_URL")) else "sqlite"
    )
    assert report["database"] == expected
    assert report["errors"] == 0, report["failures"]
    assert report["server_tracebacks"] == 0
    assert report["integrity"]["exit_code"] == 0, report["integrity"]["output"]
    assert "| GET /api/v1/sessions/ |" in result.stdout
    endpoints = {row["endpoint"]: row for row in report["endpoints"]}
    assert endpoints["all endpoints"]["requests"] > 0
    assert all(row["p50_ms"] > 0 for row in endpoints.values())
    # /metrics (summed over both gunicorn workers) counted every booking outcome the
    # clients received, no more and no fewer.
    client = {
        outcome: count
        for outcome, count in report["client_outcomes"].items()
        if outcome.startswith(("booked:", "refused:"))
    }
    assert sum(client.values()) > 0
    assert report["server_outcomes"] == client
