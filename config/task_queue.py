"""Figures about the task queue (django-tasks-db's table), for /readyz and /metrics.

Read from the database, so every app server reports the same queue whichever
machines its workers run on.
"""

from datetime import datetime

from django.db.models import Count, Min, Q
from django.utils import timezone
from django_tasks_db.compat import TaskResultStatus
from django_tasks_db.models import DBTaskResult, get_date_max


def _due(now: datetime) -> Q:
    # The backend's "no run_after" sentinel is the far future: such rows are due now.
    return Q(run_after=get_date_max()) | Q(run_after__lte=now)


def queue_depth() -> dict[str, int]:
    """Rows waiting (`ready`: due now; `scheduled`: run later) and being run (`running`)."""
    now = timezone.now()
    figures = DBTaskResult.objects.aggregate(
        ready=Count("pk", filter=Q(status=TaskResultStatus.READY) & _due(now)),
        scheduled=Count("pk", filter=Q(status=TaskResultStatus.READY) & ~_due(now)),
        running=Count("pk", filter=Q(status=TaskResultStatus.RUNNING)),
    )
    return {name: int(value or 0) for name, value in figures.items()}


def oldest_ready_age_seconds() -> float:
    """How long the longest-waiting due task has been due (0 for an empty queue): the
    figure that grows when workers are missing or too few."""
    now = timezone.now()
    due = DBTaskResult.objects.filter(status=TaskResultStatus.READY).filter(_due(now))
    # A deferred task is waiting only since its run_after; the others since enqueued.
    oldest = due.aggregate(
        enqueued=Min("enqueued_at", filter=Q(run_after=get_date_max())),
        deferred=Min("run_after", filter=~Q(run_after=get_date_max())),
    )
    starts = [moment for moment in oldest.values() if moment is not None]
    return max(0.0, (now - min(starts)).total_seconds()) if starts else 0.0


def finished_counts() -> list[tuple[str, str, int]]:
    """(task path, status, rows) of finished tasks still in the table (pruned by
    `manage.py prune_db_task_results`)."""
    rows = (
        DBTaskResult.objects.filter(
            status__in=[TaskResultStatus.SUCCESSFUL, TaskResultStatus.FAILED]
        )
        .values_list("task_path", "status")
        .annotate(rows=Count("pk"))
        .order_by()
    )
    return [(path, status, rows) for path, status, rows in rows]
