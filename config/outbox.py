"""Task rows written in the caller's transaction, several in one INSERT.

django-tasks' `Task.enqueue()` writes one row per call. The database backend
claims rows with `SELECT ... FOR UPDATE SKIP LOCKED` on status READY and
`run_after`; rows built here carry exactly the columns its own `enqueue()` writes
(same id function, JSON-normalised arguments, the "no run_after" sentinel that its
pre_save handler would have set), so the stock `db_worker` runs them. Other
backends (the immediate one, say) get one `enqueue()` per task.
"""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# django-tasks-db's compat layer: django.tasks on Django 6, the django-tasks backport before.
from django_tasks_db import DatabaseBackend
from django_tasks_db.compat import Task, normalize_json, task_backends, task_enqueued
from django_tasks_db.models import DBTaskResult, get_date_max


@dataclass(frozen=True)
class Call:
    task: Task
    kwargs: dict[str, Any] = field(default_factory=dict)
    run_after: datetime | None = None


def enqueue_calls(calls: list[Call]) -> int:
    """Enqueue every call; on the database backend, one INSERT for all. Returns the count."""
    if not calls:
        return 0
    rows: list[DBTaskResult] = []
    for call in calls:
        task = call.task.using(run_after=call.run_after) if call.run_after else call.task
        backend = task_backends[task.backend]
        if not isinstance(backend, DatabaseBackend):
            task.enqueue(**call.kwargs)
            continue
        backend.validate_task(task)
        rows.append(
            DBTaskResult(
                id=backend._get_id(),
                args_kwargs=normalize_json({"args": [], "kwargs": call.kwargs}),
                priority=task.priority,
                task_path=task.module_path,
                queue_name=task.queue_name,
                run_after=task.run_after or get_date_max(),
                backend_name=backend.alias,
            )
        )
    if rows:
        DBTaskResult.objects.bulk_create(rows)
        for row in rows:
            task_enqueued.send(DatabaseBackend, task_result=row.task_result)
    return len(calls)
