"""`make bench`: the session list against the raw-SQL floor and the naive loop, plus booking
throughput, in one run on one machine. See the README, Performance."""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import load  # noqa: E402
from bench import report_pages as bench_reports  # noqa: E402
from ops import scratch_db  # noqa: E402
from ops.local_server import GunicornServer  # noqa: E402


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 2),
        "p95_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))] * 1000, 2),
    }


def _timed(action: Callable[[], object], repeats: int, warmup: int) -> dict[str, float]:
    return _timed_alternately({"action": action}, repeats, warmup)["action"]


def _timed_alternately(
    actions: dict[str, Callable[[], object]], repeats: int, warmup: int
) -> dict[str, dict[str, float]]:
    """Time the actions in turn, one call each per round, so that a slow spell on this
    shared machine weighs on all of them alike and their ratio stays fair."""
    for _ in range(warmup):
        for action in actions.values():
            action()
    samples: dict[str, list[float]] = {name: [] for name in actions}
    for _ in range(repeats):
        for name, action in actions.items():
            started = time.perf_counter()
            action()
            samples[name].append(time.perf_counter() - started)
    return {name: _percentiles(values) for name, values in samples.items()}


class Client:
    """One keep-alive connection with a token."""

    def __init__(self, port: int, token: str) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}

    def request(self, method: str, path: str, body: dict | None = None) -> tuple[int, bytes]:
        payload = json.dumps(body) if body is not None else None
        try:
            self.connection.request(method, path, body=payload, headers=self.headers)
            response = self.connection.getresponse()
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            # The server closed an idle keep-alive connection: open a new one, once.
            self.connection.close()
            self.connection.request(method, path, body=payload, headers=self.headers)
            response = self.connection.getresponse()
        return response.status, response.read()


def _query_count(path: str, token: str) -> int:
    from django.db import connection
    from django.test import Client as DjangoClient
    from django.test.utils import CaptureQueriesContext

    client = DjangoClient(HTTP_AUTHORIZATION=f"Token {token}")
    client.get(path)  # warm caches (content types, ...)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    assert response.status_code == 200, response.content[:500]
    return len(queries)


def _raw_connection(db: scratch_db.ScratchDatabase) -> Any:
    if db.vendor == "postgresql":
        import psycopg

        connection = psycopg.connect(
            db.url.replace("postgres://", "postgresql://", 1), autocommit=True
        )
        connection.execute("SET jit = off")
        return connection
    import sqlite3

    return sqlite3.connect(db.name)


def measure_lists(
    server: GunicornServer,
    floor_server: GunicornServer,
    db: scratch_db.ScratchDatabase,
    token: str,
    scale: int,
    args: argparse.Namespace,
) -> list[dict]:
    from bench.floor import floor_page
    from bench.naive import naive_page

    raw = _raw_connection(db)
    client = Client(server.port, token)
    floor_client = Client(floor_server.port, token)
    rows = []
    for page_size in (50, 500):
        last_page = max(1, -(-scale // page_size))
        for label, page in (("first", 1), ("last", last_page)):
            path = f"/api/v1/sessions/?page={page}&page_size={page_size}"
            status, body = client.request("GET", path)
            assert status == 200, body[:500]
            ours_rows = len(json.loads(body)["results"])
            timings = _timed_alternately(
                {
                    "ours": lambda path=path: client.request("GET", path),
                    "floor": lambda page=page, size=page_size: floor_page(
                        raw, db.vendor, page, size
                    ),
                    "floor_http": lambda path=path: floor_client.request("GET", path),
                },
                args.requests,
                args.warmup,
            )
            ours, floor, floor_http = timings["ours"], timings["floor"], timings["floor_http"]
            naive_repeats = max(3, args.requests // (20 if page_size == 500 else 5))
            naive = _timed(
                lambda page=page, size=page_size: naive_page(page, size), naive_repeats, 1
            )
            row = {
                "sessions": scale,
                "page_size": page_size,
                "page": label,
                "page_number": page,
                "rows": ours_rows,
                "queries": _query_count(path, token),
                "ours": ours,
                "floor": floor,
                # The floor's statement behind the same gunicorn (bench/floor_wsgi.py).
                "floor_http": floor_http,
                "naive": naive,
                "ours_over_floor": round(ours["p50_ms"] / floor["p50_ms"], 2),
                "ours_over_floor_http": round(ours["p50_ms"] / floor_http["p50_ms"], 2),
            }
            rows.append(row)
            print(
                f"  {scale:>6} sessions, {page_size:>3}/page, {label:>5} page: ours "
                f"{ours['p50_ms']} ms, floor {floor['p50_ms']} ms (over HTTP "
                f"{floor_http['p50_ms']} ms), naive {naive['p50_ms']} ms",
                file=sys.stderr,
            )
    raw.close()
    return rows


def measure_booking_throughput(server: GunicornServer, threads: int, students: int) -> dict:
    """Concurrent students book through the API; then the invariants are checked."""
    from datetime import timedelta

    from django.utils import timezone
    from rest_framework.authtoken.models import Token

    from accounts.models import User
    from bookings.models import Booking
    from bookings.services import grant_credits
    from scheduling.models import Semester, Session

    staff = User.objects.get(username="bench-master")
    semester = Semester.objects.get(code="BENCH")
    start = timezone.now() + timedelta(days=30)
    sessions = Session.objects.bulk_create(
        Session(
            title=f"Throughput {n}",
            semester=semester,
            instructor=staff,
            capacity=20,
            credit_cost=1,
            location="Bench hall",
            date_start=start + timedelta(hours=2 * n),
            date_end=start + timedelta(hours=2 * n + 1),
            # Beside the other scenarios' sessions of the same instructor.
            allow_overlap=True,
            overlap_reason="benchmark",
        )
        for n in range(5)
    )
    tokens = []
    for n in range(students):
        student = User.objects.create(username=f"throughput-{n}-{time.time_ns()}", role="student")
        grant_credits(student=student, amount=3, note="bench", by=staff)
        tokens.append(Token.objects.create(user=student).key)
    plan = [(token, session.pk) for token in tokens for session in sessions]
    lock = threading.Lock()
    statuses: dict[int, int] = {}

    def worker(share: list[tuple[str, int]]) -> None:
        clients: dict[str, Client] = {}
        for token, session_id in share:
            client = clients.setdefault(token, Client(server.port, token))
            status, _ = client.request("POST", "/api/v1/bookings/", {"session": session_id})
            with lock:
                statuses[status] = statuses.get(status, 0) + 1

    shares = [plan[index::threads] for index in range(threads)]
    started = time.perf_counter()
    workers = [threading.Thread(target=worker, args=(share,)) for share in shares]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    elapsed = time.perf_counter() - started
    over_capacity = [
        s.pk
        for s in sessions
        if Booking.objects.filter(session=s, status="confirmed").count() > s.capacity
    ]
    integrity = subprocess.run(
        [sys.executable, "manage.py", "check_integrity"],
        cwd=ROOT,
        env=os.environ.copy(),
        capture_output=True,
        text=True,
    )
    return {
        "requests": len(plan),
        "threads": threads,
        "seconds": round(elapsed, 3),
        "bookings_per_second": round(len(plan) / elapsed, 1),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "server_errors": sum(v for k, v in statuses.items() if k >= 500),
        "sessions_over_capacity": over_capacity,
        "integrity_exit_code": integrity.returncode,
        "integrity_output": (integrity.stdout + integrity.stderr).strip()[-2000:],
    }


def markdown(rows: list[dict], throughput: dict | None) -> str:
    lines = [
        "| sessions | page size | page | queries | ours p50 / p95 (ms) | floor p50 / p95 (ms) "
        "| floor over HTTP p50 / p95 (ms) | naive p50 (ms) | ours / floor "
        "| ours / floor over HTTP |",
        "|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row['sessions']:,} | {row['page_size']} | {row['page']} | {row['queries']} "
            f"| {row['ours']['p50_ms']} / {row['ours']['p95_ms']} "
            f"| {row['floor']['p50_ms']} / {row['floor']['p95_ms']} "
            f"| {row['floor_http']['p50_ms']} / {row['floor_http']['p95_ms']} "
            f"| {row['naive']['p50_ms']} | {row['ours_over_floor']}x "
            f"| {row['ours_over_floor_http']}x |"
        )
    if throughput:
        lines += [
            "",
            f"Booking throughput: {throughput['bookings_per_second']} requests/s "
            f"({throughput['requests']} POST /api/v1/bookings/ from {throughput['threads']} "
            f"threads), statuses {throughput['statuses']}, 5xx: {throughput['server_errors']}, "
            f"sessions over capacity: {len(throughput['sessions_over_capacity'])}, "
            f"check_integrity exit code: {throughput['integrity_exit_code']}.",
        ]
    return "\n".join(lines)


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(11, 4.5))
    for axis, page_size in zip(axes, (50, 500), strict=True):
        for series, style in (
            ("ours", "o-"),
            ("floor", "s--"),
            ("floor_http", "d-."),
            ("naive", "^:"),
        ):
            for page, alpha in (("first", 1.0), ("last", 0.5)):
                points = [r for r in rows if r["page_size"] == page_size and r["page"] == page]
                axis.plot(
                    [r["sessions"] for r in points],
                    [r[series]["p50_ms"] for r in points],
                    style,
                    alpha=alpha,
                    label=f"{series} ({page} page)",
                )
        axis.set(
            xscale="log",
            yscale="log",
            xlabel="sessions in the table",
            ylabel="p50 latency (ms)",
            title=f"GET /api/v1/sessions/, {page_size} per page",
        )
        axis.grid(True, which="both", alpha=0.3)
    axes[0].legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scales", default="100,1000,10000")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--throughput-threads", type=int, default=16)
    parser.add_argument("--throughput-students", type=int, default=60)
    parser.add_argument("--output", default=str(ROOT / "bench" / "results"))
    parser.add_argument("--keep-database", action="store_true")
    parser.add_argument(
        "--reports-only",
        action="store_true",
        help="grow to the largest scale and time only the reports (register and dashboard)",
    )
    parser.add_argument("--report-requests", type=int, default=20)
    parser.add_argument(
        "--booking-only", action="store_true", help="only the booking floor (PostgreSQL)"
    )
    parser.add_argument("--booking-threads", type=int, default=8)
    args = parser.parse_args()
    scales = [] if args.booking_only else [int(s) for s in args.scales.split(",")]
    output = Path(args.output)
    output.mkdir(parents=True, exist_ok=True)

    db = scratch_db.create(os.environ.get("DATABASE_URL"), "practica_bench")
    print(f"Benchmark database: {db.vendor} {db.name}", file=sys.stderr)
    env = load.environment(db.url)
    os.environ.update(env)
    server = floor_server = None
    try:
        import django

        django.setup()
        token = load.prepare_database()
        # gthread, so that the client's keep-alive connection is honoured.
        server = GunicornServer.started(env, 2, "-k", "gthread", "--threads", "4")
        floor_server = GunicornServer.started(
            env, 2, "-k", "gthread", "--threads", "4", app="bench.floor_wsgi:application"
        )
        rows: list[dict] = []
        for scale in scales if not args.reports_only else scales[-1:]:
            load.grow_and_analyze(scale)
            if not args.reports_only:
                rows += measure_lists(server, floor_server, db, token, scale, args)
        print("  reports (register of a 30-student group, dashboard) ...", file=sys.stderr)
        report_rows = (
            [] if args.booking_only else bench_reports.measure(_timed, args.report_requests)
        )
        throughput = None
        bookings: list[dict] = []
        if db.vendor == "postgresql" and not args.reports_only:
            from bench import booking

            print("  bookings: ours against the floor ...", file=sys.stderr)
            bookings = booking.measure(
                server.port,
                db.url.replace("postgres://", "postgresql://", 1),
                args.booking_threads,
            )
            print(booking.markdown(bookings, args.booking_threads, "POST /api/v1/bookings/"))
        if db.vendor == "postgresql" and scales and not args.reports_only:
            print("  booking throughput ...", file=sys.stderr)
            throughput = measure_booking_throughput(
                server, args.throughput_threads, args.throughput_students
            )
            from bench.floor import explain

            with _raw_connection(db) as raw:
                last = max(1, -(-scales[-1] // 50))
                (output / "floor-plan.txt").write_text(explain(raw, last, 50))
        report = {
            "database": db.vendor,
            "scales": scales,
            "requests": args.requests,
            "lists": rows,
            "booking_throughput": throughput,
            "reports": report_rows,
            "booking_floor": bookings,
        }
        (output / "results.json").write_text(json.dumps(report, indent=2))
        if rows:
            plot(rows, output / "latency.png")
            print(markdown(rows, throughput))
        if report_rows:
            print("\n" + bench_reports.markdown(report_rows))
        print(f"\nWritten: {output / 'results.json'}, {output / 'latency.png'}", file=sys.stderr)
        failed = throughput is not None and (
            throughput["server_errors"]
            or throughput["sessions_over_capacity"]
            or throughput["integrity_exit_code"]
        )
        return 1 if failed else 0
    finally:
        for running in (server, floor_server):
            if running:
                running.stop()
        if not args.keep_database:
            from django.db import connections

            connections.close_all()
            db.drop()


if __name__ == "__main__":
    sys.exit(main())
