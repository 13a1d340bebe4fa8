"""Bookings per second, ours (HTTP through gunicorn) against the floor (bench/booking_floor.py),
with the same number of client threads, in the same run, on fresh rows for each.

Two loads: a hot session (60 students on one session of 20 seats) and a spread load
(1,000 students over 50 sessions of 20 seats). Every student has credits and
books once; the same plan is played by both sides.
"""

import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from typing import Any

LOADS = {"hot": (60, 1), "spread": (1000, 50)}


def _people_and_sessions(label: str, students: int, sessions: int) -> tuple[list, list[int]]:
    """Students with 3 credits each (user rows and grant rows, so the ledger reconciles),
    their tokens, and `sessions` sessions of 20 seats a month from now."""
    from django.utils import timezone
    from rest_framework.authtoken.models import Token

    from accounts.models import User
    from bookings.models import CreditTransaction
    from scheduling.models import Semester, Session

    staff = User.objects.get(username="bench-master")
    semester = Semester.objects.get(code="BENCH")
    stamp = time.time_ns()
    people = User.objects.bulk_create(
        User(username=f"{label}-{stamp}-{n}", role="student", credit_balance=3)
        for n in range(students)
    )
    CreditTransaction.objects.bulk_create(
        CreditTransaction(user=u, amount=3, kind="grant", note="bench", created_by=staff)
        for u in people
    )
    tokens = Token.objects.bulk_create(
        Token(key=Token.generate_key(), user=person) for person in people
    )
    start = timezone.now() + timedelta(days=30)
    rows = Session.objects.bulk_create(
        Session(
            title=f"{label} {n}",
            semester=semester,
            instructor=staff,
            capacity=20,
            credit_cost=1,
            location="Bench hall",
            date_start=start + timedelta(hours=2 * n),
            date_end=start + timedelta(hours=2 * n + 1),
            # Every run and side books its own sessions at the same hours, one instructor.
            allow_overlap=True,
            overlap_reason="benchmark",
        )
        for n in range(sessions)
    )
    plan = [(people[n], tokens[n].key, rows[n % sessions].pk) for n in range(students)]
    return plan, [row.pk for row in rows]


def _race(plan: list, threads: int, make_worker: Callable[[], Callable[[Any], str]]) -> dict:
    """Play `plan` from `threads` threads released together; outcomes and bookings/s."""
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()
    barrier = threading.Barrier(threads + 1)

    def run(share: list) -> None:
        book = make_worker()
        barrier.wait()
        for item in share:
            outcome = book(item)
            with lock:
                outcomes[outcome] += 1

    workers = [threading.Thread(target=run, args=(plan[i::threads],)) for i in range(threads)]
    for worker in workers:
        worker.start()
    barrier.wait()
    started = time.perf_counter()
    for worker in workers:
        worker.join()
    seconds = time.perf_counter() - started
    return {
        "seconds": round(seconds, 3),
        "per_second": round(len(plan) / seconds, 1),
        "outcomes": dict(outcomes),
    }


def measure(port: int, database_url: str, threads: int) -> list[dict]:
    import json

    import psycopg

    from bench.booking_floor import book
    from bench.run import Client
    from bookings.models import Booking

    def ours() -> Callable[[Any], str]:
        clients: dict[str, Client] = {}

        def post(item: Any) -> str:
            _, token, session = item
            client = clients.setdefault(token, Client(port, token))
            status, body = client.request("POST", "/api/v1/bookings/", {"session": session})
            return json.loads(body).get("status", str(status)) if status < 500 else str(status)

        return post

    def floor() -> Callable[[Any], str]:
        connection = psycopg.connect(database_url, autocommit=True)
        return lambda item: book(connection, item[0].pk, item[2])

    results = []
    for load, (students, sessions) in LOADS.items():
        row: dict[str, Any] = {"load": load, "students": students, "sessions": sessions}
        for side, worker in (("ours", ours), ("floor", floor)):
            plan, session_ids = _people_and_sessions(f"{load}-{side}", students, sessions)
            row[side] = _race(plan, threads, worker)
            confirmed = Booking.objects.filter(session_id__in=session_ids, status="confirmed")
            row[side]["confirmed"] = confirmed.count()
        row["ratio"] = round(row["floor"]["per_second"] / row["ours"]["per_second"], 2)
        results.append(row)
    return results


def markdown(rows: list[dict], threads: int, statements: str) -> str:
    lines = [
        f"Bookings per second, {threads} client threads each ({statements}):",
        "",
        "| load | students / sessions | ours (bookings/s) | floor (bookings/s) "
        "| floor / ours | confirmed (ours, floor) |",
        "|---|---|---:|---:|---:|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row['load']} | {row['students']:,} / {row['sessions']} "
            f"| {row['ours']['per_second']} | {row['floor']['per_second']} | {row['ratio']}x "
            f"| {row['ours']['confirmed']}, {row['floor']['confirmed']} |"
        )
    return "\n".join(lines)
