"""`make fuzz`: schemathesis against this project served by gunicorn on loopback.

1. creates its own database (PostgreSQL beside DATABASE_URL, else a temporary SQLite
   file; ops/scratch_db.py drops only what it created), migrates it and seeds two
   users per role, each owning objects (ops/fuzz_seed.py); collects the static files
   into STATIC_ROOT, as the image build does;
2. serves it with gunicorn and config/gunicorn.py, production settings (DEBUG=0) on
   127.0.0.1, throttles and the login lockout raised so that they do not hide answers;
3. runs `schemathesis run` once per role, as the role's "-a" user, with every check:
   schemathesis' own (object_level_authorization with "-b" as the peer among them)
   and ops/fuzz_hooks.py's, which sends every request on an object's id that "-a"
   got a 2xx for again with "-b"'s token and requires 403 or 404 (unless "-b" lists
   that object itself; staff may reach everything, so their pair is not compared);
4. prints the figures of each run and whatever gunicorn logged as an error; exits 1
   on any failure, error, or 5xx.

    .venv/bin/python ops/fuzz.py --max-examples 20 --max-time 90

Bounded: `--max-examples` per operation and `--max-time` seconds per role.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ops import scratch_db  # noqa: E402
from ops.fuzz_seed import PAIR, ROLES  # noqa: E402
from ops.local_server import GunicornServer, production_environment  # noqa: E402

SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"

# A schema-valid request may still break a rule the schema cannot express (an id that
# does not exist, a session already started, a wrong password): 400 (SPEC §4); a role
# that may not do it: 403; a state that refuses it: 409. As in config/tests/test_fuzz.py.
ACCEPTED_REFUSALS = ["2xx", "400", "401", "403", "404", "409", "422"]


def _run(command: list[str], env: dict[str, str], timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )


def prepare(env: dict[str, str]) -> dict[str, str]:
    migrated = _run([sys.executable, "manage.py", "migrate", "--noinput"], env, 600)
    if migrated.returncode != 0:
        raise RuntimeError(f"migrate failed:\n{migrated.stderr[-3000:]}")
    # As the image build does: without the manifest, every HTML page (a 404 included)
    # fails to render its {% static %} links, a 500 that production never shows.
    collected = _run([sys.executable, "manage.py", "collectstatic", "--noinput"], env, 600)
    if collected.returncode != 0:
        raise RuntimeError(f"collectstatic failed:\n{collected.stderr[-3000:]}")
    seeded = _run([sys.executable, "-m", "ops.fuzz_seed"], env, 600)
    if seeded.returncode != 0:
        raise RuntimeError(f"seeding failed:\n{seeded.stderr[-3000:]}")
    return json.loads(seeded.stdout.strip().splitlines()[-1])


def write_config(work: Path, role: str, tokens: dict[str, str]) -> Path:
    """A Web Fuzzing Commons auth file with the pair's tokens, and the config that pins
    the run to "-a" with "-b" as its peer."""
    peers = [f"{role}-{side}" for side in PAIR]
    wfc = {
        "auth": [
            {
                "name": name,
                "fixedHeaders": [{"name": "Authorization", "value": f"Token {tokens[name]}"}],
            }
            for name in peers
        ]
    }
    (work / f"{role}-auth.json").write_text(json.dumps(wfc))
    config = work / f"{role}.toml"
    config.write_text(
        "\n".join(
            [
                # Each run starts from a fresh database: nothing to carry over.
                "[cache]",
                "enabled = false",
                "",
                "[auth.wfc]",
                f"path = {json.dumps(str(work / f'{role}-auth.json'))}",
                f"user = {json.dumps(peers[0])}",
                f"peers = {json.dumps(peers)}",
                "",
                "[checks.positive_data_acceptance]",
                f"expected-statuses = {json.dumps(ACCEPTED_REFUSALS)}",
                "",
            ]
        )
    )
    return config


def fuzz_role(
    server: GunicornServer, work: Path, role: str, tokens: dict[str, str], args: argparse.Namespace
) -> dict[str, Any]:
    config = write_config(work, role, tokens)
    report = work / f"{role}-report.json"
    command = [
        str(SCHEMATHESIS),
        "--config-file",
        str(config),
        "--no-color",
        "run",
        f"{server.url}/api/schema/?format=json",
        "--checks",
        "all",
        "--max-examples",
        str(args.max_examples),
        "--max-time",
        str(args.max_time),
        "--seed",
        str(args.seed),
        "--workers",
        "1",
        "--request-timeout",
        "15",
        "--report",
        "json",
        "--report-json-path",
        str(report),
    ]
    started = time.monotonic()
    env = {
        **os.environ,
        "NO_COLOR": "1",
        "PYTHONPATH": str(ROOT),
        "SCHEMATHESIS_HOOKS": "ops.fuzz_hooks",
        "FUZZ_PEER_TOKEN": tokens[f"{role}-b"],
        # Staff administer everything: one staff user may read and change what another made.
        "FUZZ_PEER_SEES_ALL": "1" if role == "staff" else "0",
    }
    result = _run(command, env, args.max_time * 3 + 300)
    elapsed = time.monotonic() - started
    (work / f"{role}-output.txt").write_text(result.stdout + result.stderr)
    return {
        "role": role,
        "exit_code": result.returncode,
        "seconds": round(elapsed),
        "summary": summarize(report),
        "output": result.stdout + result.stderr,
    }


def summarize(report: Path) -> dict[str, Any]:
    if not report.exists():
        return {}
    data = json.loads(report.read_text())
    return {
        key: data[key]
        for key in ("operations", "test_cases", "checks", "failures", "errors", "summary")
        if key in data
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--max-examples", type=int, default=20, help="per operation")
    parser.add_argument("--max-time", type=int, default=90, help="seconds per role")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--roles", default=",".join(ROLES))
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--keep", action="store_true", help="keep the database and reports")
    args = parser.parse_args(argv)

    database = scratch_db.create(os.environ.get("DATABASE_URL"), "practica_fuzz")
    work = Path(tempfile.mkdtemp(prefix="practica-fuzz-"))
    results = []
    server = None
    try:
        env = production_environment(
            database.url,
            LOG_LEVEL="ERROR",
            THROTTLE_ANON_RATE="1000000/minute",
            THROTTLE_USER_RATE="1000000/minute",
            AXES_FAILURE_LIMIT="1000000",
        )
        tokens = prepare(env)
        # Every refused request logs a line: to a file, which never fills up.
        server = GunicornServer.started(env, args.workers, log=work / "gunicorn.log")
        for role in args.roles.split(","):
            results.append(fuzz_role(server, work, role, tokens, args))
            print(report_line(results[-1]), flush=True)
    finally:
        server_log = server.stop() if server is not None else ""
        if args.keep:
            print(f"kept: database {database.url}, reports in {work}")
        else:
            database.drop()
            shutil.rmtree(work, ignore_errors=True)
    return print_report(results, server_log, database.vendor)


def report_line(result: dict[str, Any]) -> str:
    return f"{result['role']}: exit {result['exit_code']} in {result['seconds']} s"


def print_report(results: list[dict[str, Any]], server_log: str, vendor: str) -> int:
    failed = False
    print(f"\nschemathesis against gunicorn on 127.0.0.1, {vendor}, two users per role\n")
    for result in results:
        lines = [line for line in result["output"].splitlines() if line.strip()]
        print(f"== {report_line(result)}")
        # The whole output when something failed: each failure with its curl to reproduce.
        print("\n".join(lines if result["exit_code"] else lines[-12:]))
        failed |= result["exit_code"] != 0
    # Refusals (4xx) log warnings; an error is a traceback, a 5xx or a worker timeout.
    errors = [
        line
        for line in server_log.splitlines()
        if re.search(r"Traceback|\[(ERROR|CRITICAL)\]|Internal Server Error|WORKER TIMEOUT", line)
    ]
    if errors:
        failed = True
        print("\ngunicorn logged errors:\n" + "\n".join(errors[:50]))
    print("\nfuzz: " + ("FAILED" if failed else "0 failures"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
