"""The load test, end to end on one machine:

1. creates its own database (PostgreSQL beside DATABASE_URL, else a temporary SQLite
   file; ops/scratch_db.py marks it and drops only what it created), migrates it and
   seeds students with credits and API tokens, and sessions;
2. serves it with gunicorn (config/gunicorn.py, 2 sync workers on loopback; Redis for
   the cache when it answers on 127.0.0.1:6379; PROMETHEUS_MULTIPROC_DIR so that
   /metrics adds up both workers);
3. runs locust headless (loadtest/locustfile.py), bounded in users and seconds;
4. prints requests per second, p50/p95/p99 per endpoint and the errors, the booking
   outcomes the clients saw beside those the server counted, and ends with
   `manage.py check_integrity` against the database.

    .venv/bin/python loadtest/run.py --users 50 --duration 60

`--scenario rush` is the registration rush instead (loadtest/rush.py,
loadtest/rush_locustfile.py): every student starts within a second, books the
sessions it wants once and stops; the report adds how long session locks were held
and the rush's own checks (every seat filled once, arrival order).

Exits 1 when a request failed or the integrity check found anything.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ops import scratch_db  # noqa: E402
from ops.local_server import GunicornServer, production_environment  # noqa: E402

BIN = Path(sys.executable).parent
REDIS_URL = "redis://127.0.0.1:6379/14"
STAFF_USERNAME = "loadtest-staff"
MIXED_DEFAULTS = {"users": 50, "duration": 60, "sessions": 40, "capacity": 5, "credits": 20}
# The rush bounds its time: it ends when every student has booked, or after this.
RUSH_DEFAULTS = {"users": 1000, "duration": 300, "sessions": 50, "capacity": 20, "credits": 2}
RUSH_OUTPUT = ROOT / "loadtest" / "results"


def _redis_answers() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def seed(env: dict[str, str], args: argparse.Namespace) -> dict[str, Any]:
    """Students with credits and tokens, and sessions, written through the services."""
    spec = {
        "staff": STAFF_USERNAME,
        "students": args.students or args.users,
        "sessions": args.sessions,
        "capacity": args.capacity,
        "credits": args.credits,
    }
    result = subprocess.run(
        [sys.executable, "-m", "loadtest.seed", json.dumps(spec)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if result.returncode != 0:
        raise RuntimeError(f"seeding failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def run_locust(
    server: GunicornServer, data_file: Path, work: Path, args: argparse.Namespace
) -> None:
    locustfile = "rush_locustfile.py" if args.scenario == "rush" else "locustfile.py"
    env = {
        **os.environ,
        "LOADTEST_DATA": str(data_file),
        "LOADTEST_RESULTS": str(work / "locust.json"),
    }
    result = subprocess.run(
        [
            str(BIN / "locust"),
            "-f",
            str(ROOT / "loadtest" / locustfile),
            "--headless",
            "--users",
            str(args.users),
            "--spawn-rate",
            str(args.spawn_rate or args.users),
            "--run-time",
            f"{args.duration}s",
            "--stop-timeout",
            "10",
            "--only-summary",
            "--loglevel",
            "WARNING",
            "--host",
            server.url,
            "--exit-code-on-error",
            "0",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=args.duration + 120,
    )
    if result.returncode != 0:
        raise RuntimeError(f"locust failed:\n{result.stderr[-3000:]}")


def scrape(server: GunicornServer, token: str) -> dict[str, Any]:
    """What /metrics (summed over the workers) says: booking outcomes, per view the time
    spent in the server and the statements run, and the bookings' session locks."""
    from prometheus_client.parser import text_string_to_metric_families

    from loadtest.rush import lock_quantiles

    status, body = server.get("/metrics", {"Authorization": f"Bearer {token}"})
    if status != 200:
        raise RuntimeError(f"/metrics answered {status}")
    outcomes: dict[str, int] = {}
    views: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    lock_buckets: dict[str, dict[float, float]] = defaultdict(lambda: defaultdict(float))
    for family in text_string_to_metric_families(body):
        for sample in family.samples:
            labels = sample.labels
            if sample.name == "practica_booking_outcomes_total" and sample.value:
                outcome = labels["outcome"]
                key = f"refused:{labels['code']}" if outcome == "refused" else f"booked:{outcome}"
                outcomes[key] = int(sample.value)
            elif sample.name.startswith("django_http_requests_latency_seconds_by_view_method_"):
                views[labels["view"]][sample.name.rsplit("_", 1)[1] + "_seconds"] += sample.value
            elif sample.name.startswith("practica_db_queries_per_request_"):
                views[labels["view"]][sample.name.rsplit("_", 1)[1] + "_queries"] += sample.value
            elif (
                sample.name.startswith("practica_session_lock_")
                and sample.name.endswith("_bucket")
                and labels.get("view") == "booking-list"
            ):
                kind = "held" if "_held_" in sample.name else "wait"
                lock_buckets[kind][float(labels["le"])] += sample.value
    return {
        "outcomes": outcomes,
        # POST /api/v1/bookings/: the wait for the session's row lock, and how long it was
        # held, from the locking statement to the commit (config/metrics.py).
        "booking_session_lock": {
            kind: lock_quantiles(buckets, (0.5, 0.99)) for kind, buckets in lock_buckets.items()
        },
        "views": {
            view: {
                "requests": int(figures["count_seconds"]),
                "mean_ms": round(1000 * figures["sum_seconds"] / figures["count_seconds"], 1),
                "queries_per_request": round(
                    figures["sum_queries"] / max(figures["count_queries"], 1), 2
                ),
            }
            for view, figures in sorted(views.items())
            if figures["count_seconds"] and view != "metrics"
        },
    }


def print_report(report: dict[str, Any]) -> None:
    print(
        f"\nLoad test: {report['users']} users for {report['duration_s']} s on "
        f"{report['database']}, gunicorn {report['workers']} workers, "
        f"cache {'Redis' if report['redis'] else 'per-process memory'}; "
        f"load average before: {report['load_average_before']}\n"
    )
    print("| endpoint | requests | failures | req/s | p50 ms | p95 ms | p99 ms |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for row in report["endpoints"]:
        print(
            f"| {row['endpoint']} | {row['requests']} | {row['failures']} | {row['rps']} | "
            f"{row['p50_ms']:.0f} | {row['p95_ms']:.0f} | {row['p99_ms']:.0f} |"
        )
    print(f"\nerrors: {report['errors']}")
    for failure in report["failures"]:
        print(f"  {failure['count']} x {failure['endpoint']}: {failure['error']}")
    print("\n| view (server side) | requests | mean ms in the server | queries per request |")
    print("|---|---:|---:|---:|")
    for view, row in report["server_views"].items():
        print(f"| {view} | {row['requests']} | {row['mean_ms']} | {row['queries_per_request']} |")
    print(f"\nbooking outcomes seen by the clients: {report['client_outcomes']}")
    print(f"booking outcomes counted by /metrics: {report['server_outcomes']}")
    integrity = report["integrity"]
    print(f"check_integrity: exit {integrity['exit_code']}: {integrity['output'].strip()}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", choices=("mixed", "rush"), default="mixed")
    parser.add_argument("--users", type=int, default=0, help="default: 50; rush: 1,000")
    parser.add_argument("--spawn-rate", type=int, default=0, help="default: all at once")
    parser.add_argument(
        "--duration", type=int, default=0, help="seconds; default 60; rush: at most 300"
    )
    parser.add_argument("--students", type=int, default=0, help="default: one per user")
    parser.add_argument("--sessions", type=int, default=0, help="default 40; rush: 50")
    parser.add_argument("--capacity", type=int, default=0, help="default 5; rush: 20")
    parser.add_argument("--credits", type=int, default=0, help="default 20; rush: 2")
    parser.add_argument("--popular", type=int, default=5, help="rush: popular sessions")
    parser.add_argument(
        "--demand", type=int, default=200, help="rush: students wanting each popular session"
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--output",
        type=Path,
        help="directory for results.json; rush: rush.json and rush-latency.png, "
        "by default in loadtest/results/",
    )
    parser.add_argument("--keep-database", action="store_true")
    args = parser.parse_args(argv)
    defaults = RUSH_DEFAULTS if args.scenario == "rush" else MIXED_DEFAULTS
    for name, value in defaults.items():
        if not getattr(args, name):
            setattr(args, name, value)
    if args.scenario == "rush":
        return rush_main(args)

    database = scratch_db.create(os.environ.get("DATABASE_URL"), "practica_loadtest")
    try:
        with tempfile.TemporaryDirectory(prefix="practica-loadtest-") as tmp:
            work = Path(tmp)
            report = _run(database, work, args)
            if args.output:
                args.output.mkdir(parents=True, exist_ok=True)
                (args.output / "results.json").write_text(json.dumps(report, indent=2))
    finally:
        if args.keep_database:
            print(f"database kept: {database.url}")
        else:
            database.drop()
    print_report(report)
    return 0 if report["errors"] == 0 and report["integrity"]["exit_code"] == 0 else 1


def _rush_report(
    env: dict[str, str],
    data_file: Path,
    results_file: Path,
    server_figures: dict[str, Any],
    server_log: str,
    integrity: subprocess.CompletedProcess,
) -> dict[str, Any]:
    from loadtest.rush import summarize

    checked = subprocess.run(
        [sys.executable, "-m", "loadtest.rush", str(data_file), str(results_file)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if checked.returncode != 0:
        raise RuntimeError(f"the rush's checks failed to run:\n{checked.stderr[-3000:]}")
    results = json.loads(results_file.read_text())
    return {
        "clients": summarize(results["records"]),
        "http_requests": results["requests"],
        "failures": results["failures"],
        "session_lock": server_figures["booking_session_lock"],
        "server_outcomes": server_figures["outcomes"],
        "server_views": server_figures["views"],
        "server_tracebacks": server_log.count("Traceback"),
        "checks": json.loads(checked.stdout.strip().splitlines()[-1]),
        "integrity": {
            "exit_code": integrity.returncode,
            "output": integrity.stdout + integrity.stderr,
        },
        "records": results["records"],
    }


def rush_main(args: argparse.Namespace) -> int:
    from loadtest.rush import is_clean, plot

    database = scratch_db.create(os.environ.get("DATABASE_URL"), "practica_loadtest")
    load_before = [round(load, 2) for load in os.getloadavg()]
    try:
        with tempfile.TemporaryDirectory(prefix="practica-rush-") as tmp:
            report = _run(database, Path(tmp), args)
    finally:
        if args.keep_database:
            print(f"database kept: {database.url}")
        else:
            database.drop()
    records = report.pop("records")
    report = {
        "scenario": "rush",
        "database": database.vendor,
        "students": args.users,
        "sessions": args.sessions,
        "capacity": args.capacity,
        "popular": args.popular,
        "demand_per_popular": args.demand,
        "workers": args.workers,
        "load_average_before": load_before,
        **report,
    }
    output = args.output or RUSH_OUTPUT
    output.mkdir(parents=True, exist_ok=True)
    (output / "rush.json").write_text(json.dumps(report, indent=2))
    clients = report["clients"]
    title = (
        f"Registration rush: {args.users:,} students, {args.sessions} sessions of "
        f"{args.capacity} ({args.popular} wanted by {args.demand} each), {database.vendor}, "
        f"gunicorn {args.workers} workers; {clients['bookings_per_second']} bookings/s"
    )
    plot(records, output / "rush-latency.png", title)
    print_rush_report(report)
    clean = (
        not report["failures"]
        and clients["other_5xx"] == 0
        and not clients["other_statuses"]
        and report["server_tracebacks"] == 0
        and is_clean(report["checks"])
        and report["integrity"]["exit_code"] == 0
    )
    return 0 if clean else 1


def print_rush_report(report: dict[str, Any]) -> None:
    clients, checks, lock = report["clients"], report["checks"], report["session_lock"]
    print(
        f"\nRegistration rush: {report['students']:,} students, {report['sessions']} sessions "
        f"of {report['capacity']} seats ({report['popular']} wanted by "
        f"{report['demand_per_popular']} students each), {report['database']}, gunicorn "
        f"{report['workers']} workers; load average before: {report['load_average_before']}\n"
    )
    held, wait = lock.get("held", {}), lock.get("wait", {})
    print("| bookings | confirmed | waitlisted | seconds | bookings/s | p50 ms | p95 ms | p99 ms |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    print(
        f"| {clients['booked']} | {clients['confirmed']} | {clients['waitlisted']} "
        f"| {clients['seconds']} | {clients['bookings_per_second']} | {clients['p50_ms']} "
        f"| {clients['p95_ms']} | {clients['p99_ms']} |"
    )
    print(
        f"\nevery student had sent its first request within "
        f"{clients['all_students_started_within_s']} s of the first; 503 with Retry-After: "
        f"{clients['busy_503_with_retry_after']} (on "
        f"{clients['bookings_retried']} bookings, retried); other 5xx: {clients['other_5xx']}; "
        f"other statuses: {clients['other_statuses']}; failures: {report['failures']}"
    )
    print(
        f"session lock of a booking, held (lock to commit): p50 {held.get('p50_ms')} ms, "
        f"p99 {held.get('p99_ms')} ms over {held.get('count')}; waited for: p50 "
        f"{wait.get('p50_ms')} ms, p99 {wait.get('p99_ms')} ms"
    )
    problems = {k: v for k, v in checks.items() if isinstance(v, list) and v}
    print(
        f"seats: {checks['seats']} to fill; checks: {problems or 'all clean'}; concurrent "
        f"requests served out of their start order (allowed): "
        f"{checks['concurrent_requests_served_out_of_start_order']}"
    )
    integrity = report["integrity"]
    print(f"check_integrity: exit {integrity['exit_code']}: {integrity['output'].strip()}")


def _run(database: scratch_db.ScratchDatabase, work: Path, args: argparse.Namespace) -> dict:
    env = production_environment(database.url, LOG_LEVEL="WARNING")
    migrated = _manage(env, "migrate", "--noinput")
    if migrated.returncode != 0:
        raise RuntimeError(f"migrate failed:\n{migrated.stderr[-3000:]}")
    data = seed(env, args)
    if args.scenario == "rush":
        from loadtest.rush import wishes

        data["wishes"] = wishes(len(data["tokens"]), data["sessions"], args.popular, args.demand)
    data_file = work / "data.json"
    data_file.write_text(json.dumps(data))

    redis = _redis_answers()
    metrics_token = secrets.token_urlsafe(24)
    server_env = {
        **env,
        "METRICS_TOKEN": metrics_token,
        "PROMETHEUS_MULTIPROC_DIR": str(work / "prometheus"),
    }
    if redis:
        server_env["REDIS_URL"] = REDIS_URL
    load_before = [round(load, 2) for load in os.getloadavg()]
    # Sync workers, as in production.
    server = GunicornServer.started(server_env, args.workers)
    started = datetime.now().astimezone()
    try:
        # Both workers import the views and open their connections before the clock runs.
        for _ in range(4 * args.workers):
            server.get("/api/v1/sessions/", {"Authorization": f"Token {data['tokens'][0]}"})
        run_locust(server, data_file, work, args)
        server_figures = scrape(server, metrics_token)
    finally:
        server_log = server.stop()
    results_file = work / "locust.json"
    if not results_file.exists():
        raise RuntimeError("locust wrote no results")
    results = json.loads(results_file.read_text())
    integrity = _manage(env, "check_integrity")
    if args.scenario == "rush":
        return _rush_report(env, data_file, results_file, server_figures, server_log, integrity)
    return {
        "database": database.vendor,
        "users": args.users,
        "duration_s": args.duration,
        "workers": args.workers,
        "redis": redis,
        "started_at": started.isoformat(timespec="seconds"),
        # Other work on the same 2 cores skews every figure: keep the context with them.
        "load_average_before": load_before,
        "finished_at": (started + timedelta(seconds=args.duration)).isoformat(timespec="seconds"),
        "endpoints": [*results["endpoints"], results["total"]],
        "errors": results["total"]["failures"],
        "failures": results["failures"],
        "client_outcomes": results["outcomes"],
        "server_outcomes": server_figures["outcomes"],
        "server_views": server_figures["views"],
        "server_tracebacks": server_log.count("Traceback"),
        "integrity": {
            "exit_code": integrity.returncode,
            "output": integrity.stdout + integrity.stderr,
        },
    }


if __name__ == "__main__":
    sys.exit(main())
