"""Where the fixed cost of `GET /api/v1/sessions/` goes: one request in process, profiled.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/profile_list.py

At 100 sessions the page statement is a small part of a request; the rest is Python that
every request pays. This script serves the 50-row page through Django's WSGI handler (no
gunicorn, no network) on a scratch database with production settings, and prints:

- the request's p50 beside the floor's statement alone (bench/floor.py) over psycopg;
- middleware by middleware, the time each spends outside the layers it wraps (the
  innermost layer is the view with the process_view hooks);
- cProfile's cumulative time per request in the stages that matter (authentication,
  DRF's dispatch, the metrics wrapper, the page's queries, the serializer, rendering);
- the request over the connection as configured, without Django's connection health
  check (a `SELECT 1` before each request's first statement), and with psycopg's
  server-side binding (Django's PostgreSQL OPTIONS {"server_side_binding": True}), in turn;
- with `--server-side-binding`, all of the above with server-side binding on.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import load  # noqa: E402
from ops import scratch_db  # noqa: E402

# The callables whose cumulative time is shown per request, as "module:qualified.name".
STAGES = [
    ("django.core.handlers.wsgi:WSGIHandler.__call__", "WSGI handler, whole request"),
    ("config.metrics:RequestMetricsMiddleware.__call__", "RequestMetricsMiddleware and inside"),
    ("config.metrics:_QueryTimer.__call__", "statements, timed by the metrics wrapper"),
    ("django.core.handlers.base:BaseHandler.resolve_request", "URL resolving"),
    ("rest_framework.views:APIView.dispatch", "DRF dispatch"),
    ("rest_framework.views:APIView.initialize_request", "DRF initialize_request"),
    ("rest_framework.views:APIView.initial", "DRF initial (auth, permissions, throttles)"),
    ("rest_framework.request:Request._authenticate", "authentication"),
    ("rest_framework.views:APIView.check_throttles", "throttles"),
    ("scheduling.api.views:SessionViewSet.get_queryset", "building the queryset"),
    ("config.pagination:PageIdsFirstPaginator.page", "pagination (count, page query)"),
    ("rest_framework.views:APIView.finalize_response", "finalize_response"),
    ("rest_framework.response:Response.rendered_content", "JSON rendering"),
    ("django.db.backends.utils:CursorWrapper._execute", "SQL statements (Django cursor)"),
    (
        "django.db.backends.base.base:BaseDatabaseWrapper.close_if_health_check_failed",
        "connection health check (SELECT 1)",
    ),
    ("django.db:close_old_connections", "close_old_connections (request signals)"),
]


def _code_of(target: str) -> tuple[str, int, str]:
    import importlib

    module_name, _, qualified = target.partition(":")
    value: Any = importlib.import_module(module_name)
    for part in qualified.split("."):
        value = getattr(value, part)
    code = getattr(value, "fget", value).__code__
    return code.co_filename, code.co_firstlineno, code.co_name


def wsgi_environ(token: str, page_size: int) -> dict[str, Any]:
    return {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/api/v1/sessions/",
        "QUERY_STRING": f"page_size={page_size}",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_AUTHORIZATION": f"Token {token}",
        "HTTP_ACCEPT": "application/json",
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
    }


def requester(application: Callable, environ: dict[str, Any]) -> Callable[[], None]:
    def request() -> None:
        response = application({**environ, "wsgi.input": io.BytesIO()}, lambda s, h: None)
        if response.status_code != 200:
            raise RuntimeError(f"HTTP {response.status_code}: {response.content[:300]!r}")
        b"".join(response)
        response.close()

    return request


def alternately(actions: dict[str, Callable[[], object]], rounds: int) -> dict[str, float]:
    """p50 ms of each action, timed one call each per round."""
    for action in actions.values():
        for _ in range(10):
            action()
    samples: dict[str, list[float]] = {name: [] for name in actions}
    for _ in range(rounds):
        for name, action in actions.items():
            started = time.perf_counter()
            action()
            samples[name].append(time.perf_counter() - started)
    return {name: round(statistics.median(s) * 1000, 3) for name, s in samples.items()}


def handler_without(middleware: str | None) -> Callable:
    from django.conf import settings
    from django.core.handlers.wsgi import WSGIHandler
    from django.test.utils import override_settings

    kept = [m for m in settings.MIDDLEWARE if m != middleware]
    with override_settings(MIDDLEWARE=kept):
        return WSGIHandler()


def timed_handler() -> tuple[Callable, list[str], dict[str, list[float]]]:
    """A WSGI handler whose every layer (each middleware with all inside it, and the
    innermost: the view with the process_view hooks) records its time per request."""
    from django.conf import settings
    from django.core.handlers import base
    from django.core.handlers.wsgi import WSGIHandler

    names = ["view (with process_view hooks)", *reversed(settings.MIDDLEWARE)]
    inside: dict[str, list[float]] = {name: [] for name in names}
    original = base.convert_exception_to_response
    layers = iter(names)

    def timing(get_response: Callable) -> Callable:
        converted = original(get_response)
        samples = inside[next(layers)]

        def layer(request: Any) -> Any:
            started = time.perf_counter()
            try:
                return converted(request)
            finally:
                samples.append(time.perf_counter() - started)

        return layer

    base.convert_exception_to_response = timing
    try:
        handler = WSGIHandler()
    finally:
        base.convert_exception_to_response = original
    return handler, names, inside


def own_times(environ: dict[str, Any], rounds: int) -> list[tuple[str, float]]:
    """Each layer's own time per request (its time minus the next layer's), median ms."""
    handler, names, inside = timed_handler()
    request = requester(handler, environ)
    for _ in range(10):
        request()
    for samples in inside.values():
        samples.clear()
    for _ in range(rounds):
        request()
    rows = []
    for index, name in enumerate(names):
        inner = inside[names[index - 1]] if index else [0.0] * rounds
        own = [outer - within for outer, within in zip(inside[name], inner, strict=True)]
        rows.append((name, round(statistics.median(own) * 1000, 3)))
    return list(reversed(rows))


def connection_variants() -> dict[str, Any]:
    """The default connection as configured, and variants of it, each its own wrapper."""
    from django.db import connections

    configured = connections["default"]
    settings_dict = configured.settings_dict

    def wrapper(**options: Any) -> Any:
        return type(configured)(
            {**settings_dict, "OPTIONS": {**settings_dict["OPTIONS"], **options}}, "default"
        )

    unchecked = wrapper()
    unchecked.settings_dict["CONN_HEALTH_CHECKS"] = False
    variants = {"as configured": configured, "no health check (SELECT 1)": unchecked}
    if configured.vendor == "postgresql":
        variants["server_side_binding"] = wrapper(server_side_binding=True)
    return variants


def compare_connections(request: Callable[[], None], rounds: int) -> dict[str, float]:
    """p50 of the same request over each connection variant, in turn."""
    from django.db import connections

    def over(variant: Any) -> Callable[[], None]:
        def run() -> None:
            connections["default"] = variant
            request()

        return run

    variants = connection_variants()
    try:
        return alternately({name: over(v) for name, v in variants.items()}, rounds)
    finally:
        connections["default"] = variants["as configured"]


def profile(request: Callable[[], None], requests: int) -> dict[str, float]:
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(requests):
        request()
    profiler.disable()
    stats = pstats.Stats(profiler)
    stats.sort_stats("tottime").print_stats(25)
    per_request: dict[str, float] = {}
    for target, label in STAGES:
        entry = stats.stats.get(_code_of(target))
        if entry is not None:
            per_request[label] = entry[3] * 1000 / requests
    return per_request


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=100)
    parser.add_argument("--page-size", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--server-side-binding", action="store_true")
    args = parser.parse_args()

    db = scratch_db.create(os.environ.get("DATABASE_URL"), "practica_profile")
    os.environ.update(load.environment(db.url))
    try:
        import django

        django.setup()
        from django.db import connection

        if args.server_side_binding:
            connection.settings_dict["OPTIONS"]["server_side_binding"] = True
        token = load.prepare_database()
        load.grow_and_analyze(args.sessions)
        connection.close()
        # As gunicorn's worker: the handler's request_started/finished signals run.
        environ = wsgi_environ(token, args.page_size)
        request = requester(handler_without(None), environ)

        from bench.floor import floor_page
        from bench.run import _raw_connection

        raw = _raw_connection(db)
        timings = alternately(
            {
                "request": request,
                "floor": lambda: floor_page(raw, db.vendor, 1, args.page_size),
            },
            args.rounds,
        )
        print(
            f"\n{db.vendor}, {args.sessions} sessions, {args.page_size}-row page, "
            f"server_side_binding={args.server_side_binding}: request p50 "
            f"{timings['request']} ms in process, floor statement + json.dumps "
            f"{timings['floor']} ms\n"
        )
        stages = profile(request, args.rounds)
        print("| stage (cProfile, cumulative per request) | ms |\n|---|---:|")
        for _, label in STAGES:
            if label in stages:
                print(f"| {label} | {stages[label]:.2f} |")
        print("\n| connection | request p50 ms (in turn) |\n|---|---:|")
        for name, p50 in compare_connections(request, args.rounds).items():
            print(f"| {name} | {p50:.3f} |")
        print("\n| layer, outermost first | own time per request, p50 ms |\n|---|---:|")
        for name, own in own_times(environ, args.rounds):
            print(f"| {name} | {own:.3f} |")
        raw.close()
        return 0
    finally:
        from django.db import connections

        connections.close_all()
        db.drop()


if __name__ == "__main__":
    sys.exit(main())
