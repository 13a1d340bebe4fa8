"""`make bench-instructions`: Python instructions per `GET /api/v1/sessions/`, counted by
valgrind's callgrind, which gives the same count on a loaded machine as on an idle one.

Latency on a shared two-core machine moves by a third from run to run; instruction counts
do not, so a change to the list path can be judged before and after in one sitting. Requests
run in process through Django's WSGI handler (no gunicorn, no network), and the database's
own work is not counted: it runs in another process.

The count per request is (instructions of warm-up + N requests) - (instructions of warm-up
+ 1 request), divided by N - 1, so the start-up of Python and Django cancels out.
"""

from __future__ import annotations

import argparse
import io
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import load  # noqa: E402
from ops import scratch_db  # noqa: E402

WARMUP = 20


def run_requests(page_size: int, requests: int) -> None:
    """The measured part: the child process that valgrind runs."""
    import django

    django.setup()
    from django.core.handlers.wsgi import WSGIHandler
    from rest_framework.authtoken.models import Token

    token = Token.objects.get(user__username="bench-master").key
    application = WSGIHandler()
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/api/v1/sessions/",
        "QUERY_STRING": f"page_size={page_size}",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_AUTHORIZATION": f"Token {token}",
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
    }
    statuses = []
    for _ in range(WARMUP + requests):
        response = application({**environ, "wsgi.input": io.BytesIO()}, lambda s, h: None)
        statuses.append(response.status_code)
        response.close()
    if set(statuses) != {200}:
        raise SystemExit(f"requests failed: {sorted(set(statuses))}")


def _instructions(page_size: int, requests: int, env: dict[str, str]) -> int:
    result = subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            "--callgrind-out-file=/dev/null",
            sys.executable,
            __file__,
            "--child",
            f"--page-size={page_size}",
            f"--requests={requests}",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    found = re.search(r"Collected : (\d+)", result.stderr)
    if result.returncode != 0 or not found:
        raise RuntimeError("valgrind failed:\n" + result.stderr[-3000:])
    return int(found.group(1))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sessions", type=int, default=10_000)
    parser.add_argument("--page-sizes", default="50,500")
    parser.add_argument("--requests", type=int, default=21)
    parser.add_argument("--page-size", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run_requests(args.page_size, args.requests)
        return 0
    if not shutil.which("valgrind"):
        print("valgrind is not installed (apt-get install valgrind).", file=sys.stderr)
        return 2

    db = scratch_db.create(os.environ.get("DATABASE_URL"), "practica_instructions")
    env = load.environment(db.url)
    os.environ.update(env)
    try:
        import django

        django.setup()
        from django.db import connection

        load.prepare_database()
        load.grow_and_analyze(args.sessions)
        connection.close()
        print(f"| page size | Python instructions per request ({args.sessions:,} sessions) |")
        print("|---:|---:|")
        for page_size in (int(size) for size in args.page_sizes.split(",")):
            once = _instructions(page_size, 1, env)
            many = _instructions(page_size, args.requests, env)
            per_request = (many - once) / (args.requests - 1)
            print(f"| {page_size} | {per_request / 1e6:.1f} M |", flush=True)
        return 0
    finally:
        from django.db import connections

        connections.close_all()
        db.drop()


if __name__ == "__main__":
    sys.exit(main())
