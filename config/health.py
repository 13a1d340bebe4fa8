"""Probes for load balancers and orchestrators: cheap, unauthenticated, no sessions."""

from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, JsonResponse


def _database_ok() -> bool:
    try:
        with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:
        return False
    return True


def _cache_ok() -> bool:
    try:
        cache.set("readyz-probe", "1", timeout=5)
        return cache.get("readyz-probe") == "1"
    except Exception:
        return False


def _migrations_applied() -> bool:
    try:
        executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
        return not executor.migration_plan(executor.loader.graph.leaf_nodes())
    except Exception:
        return False


def _task_queue_report() -> dict[str, float | int | str]:
    """The queue's backlog: reported, never a reason to leave the load balancer
    (app servers cannot drain a queue; a missing worker is an alert, see /metrics)."""
    from .task_queue import oldest_ready_age_seconds, queue_depth

    try:
        return {
            "oldest_ready_task_seconds": round(oldest_ready_age_seconds(), 3),
            "ready_tasks": queue_depth()["ready"],
        }
    except Exception:
        return {"task_queue": "unreadable"}


def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness: the process answers and the database takes one statement."""
    if not _database_ok():
        return JsonResponse({"status": "error", "database": "unreachable"}, status=503)
    return JsonResponse({"status": "ok", "database": "ok"})


def readyz(request: HttpRequest) -> JsonResponse:
    """Readiness: database reachable and every migration applied; the cache is reported.

    The database is the only hard dependency. Without Redis the service still works
    (config/cache.py: throttles fail open), and every instance shares the one Redis: a
    failing cache check would take all of them out of rotation at once. So a cache in
    trouble is "degraded", with 200.
    """
    database = _database_ok()
    hard = {"database": database, "migrations": database and _migrations_applied()}
    ready = all(hard.values())
    body = {"status": "ok" if ready else "error"}
    body.update({name: "ok" if passed else "failing" for name, passed in hard.items()})
    body["cache"] = "ok" if _cache_ok() else "degraded"
    if database:
        body.update(_task_queue_report())
    return JsonResponse(body, status=200 if ready else 503)
