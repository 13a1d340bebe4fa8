"""The registration rush's plan, seeding, figures and checks, at small numbers; and the
scenario end to end through gunicorn and locust, at its smallest."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from loadtest.rush import check, is_clean, lock_quantiles, summarize, wishes
from loadtest.seed import seed

ROOT = Path(__file__).resolve().parents[2]


def test_the_popular_sessions_get_their_demand_and_every_other_seat_has_takers():
    wanted = wishes(1000, list(range(1, 51)), popular=5, demand=200)
    demand = {session: 0 for session in range(1, 51)}
    for mine in wanted:
        for session in mine:
            demand[session] += 1
    assert [demand[s] for s in range(1, 6)] == [200] * 5
    assert min(demand[s] for s in range(6, 51)) >= 20
    assert all(len(mine) == 2 and mine[0] <= 5 < mine[1] for mine in wanted)


def test_lock_quantiles_interpolate_within_the_bucket():
    buckets = {0.001: 0.0, 0.002: 50.0, 0.005: 90.0, 0.01: 100.0, float("inf"): 100.0}
    figures = lock_quantiles(buckets, (0.5, 0.99))
    assert figures == {"p50_ms": 2.0, "p99_ms": 9.5, "count": 100}


def test_the_summary_counts_retries_and_server_errors_apart():
    records = [
        _record(0, 1, 0.0, 0.5, outcome="confirmed", busy=2),
        _record(1, 1, 0.1, 0.2, outcome="waitlisted"),
        {**_record(2, 1, 0.1, 1.1), "status": 500},
    ]
    summary = summarize(records)
    assert summary["booked"] == 2
    assert summary["busy_503_with_retry_after"] == 2
    assert summary["bookings_retried"] == 1
    assert summary["other_5xx"] == 1
    assert summary["bookings_per_second"] == round(2 / 1.1, 1)


@pytest.fixture
def rush(db):
    """Seeded as the scenario seeds it; bookings made in the order of their requests."""
    from accounts.models import User
    from bookings.services import book_session

    data = seed({"staff": "rush-staff", "students": 6, "sessions": 3, "capacity": 2, "credits": 2})
    data["wishes"] = wishes(6, data["sessions"], popular=1, demand=6)
    students = list(User.objects.filter(role="student").order_by("id"))
    assert len(students) == len(data["tokens"]) == 6
    records, clock = [], 0.0
    for round_ in (0, 1):
        for index, student in enumerate(students):
            session = data["wishes"][index][round_]
            booking = book_session(student=student, session=session, by=student)
            records.append(
                _record(
                    index,
                    session,
                    clock,
                    clock + 0.01,
                    booking=booking.pk,
                    outcome=booking.status,
                    waitlist_position=booking.waitlist_position,
                )
            )
            clock += 0.02
    return data, records


def test_a_rush_served_in_arrival_order_passes_every_check(rush):
    data, records = rush
    checks = check(data, records)
    assert is_clean(checks), checks
    # 2 seats on the popular session, and 2 each on the others (3 takers each).
    assert checks["seats"] == 6
    assert checks["concurrent_requests_served_out_of_start_order"] == 0


def test_a_booking_served_ahead_of_an_earlier_request_is_caught(rush):
    data, records = rush
    first, second = records[0], records[1]
    # The second booking's request was answered before the first one's was even sent.
    second["start"], second["end"] = first["start"] - 0.02, first["start"] - 0.01
    checks = check(data, records)
    assert checks["arrival_order_violations"] == [second["booking"]]
    assert not is_clean(checks)


def test_answers_that_disagree_with_the_database_are_caught(rush):
    data, records = rush
    waitlisted = next(r for r in records if r["outcome"] == "waitlisted")
    waitlisted["waitlist_position"] += 1
    dropped = records.pop()
    checks = check(data, records)
    assert checks["waitlist_positions_that_moved"] == [waitlisted["booking"]]
    assert checks["bookings_no_client_was_told_of"] == [dropped["booking"]]


def _record(student, session, start, end, **answer):
    return {
        "student": student,
        "session": session,
        "first_start": start,
        "start": start,
        "end": end,
        "attempts": 1 + answer.get("busy", 0),
        "busy": answer.pop("busy", 0),
        "status": 201,
        **answer,
    }


def test_the_rush_runs_end_to_end_at_its_smallest(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    started = time.monotonic()
    result = subprocess.run(
        [
            sys.executable,
            "loadtest/run.py",
            *("--scenario", "rush", "--users", "12", "--sessions", "3", "--capacity", "2"),
            *("--popular", "1", "--demand", "8", "--output", str(tmp_path)),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    report = json.loads((tmp_path / "rush.json").read_text())
    assert (tmp_path / "rush-latency.png").stat().st_size > 0
    clients = report["clients"]
    # 8 want the popular session, and all 12 one of the other two.
    assert (clients["bookings"], clients["booked"], clients["confirmed"]) == (20, 20, 6)
    assert clients["other_5xx"] == 0
    assert is_clean(report["checks"]), report["checks"]
    assert report["integrity"]["exit_code"] == 0
    assert "| bookings | confirmed |" in result.stdout
    if report["database"] == "postgresql":
        assert report["session_lock"]["held"]["count"] == 20
    # The run ends when the last student is done, not at its 300 s bound.
    assert time.monotonic() - started < 200
