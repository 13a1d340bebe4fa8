"""Writing activities: `record` one, or `record_many` in one INSERT.

Both run inside the caller's transaction (the row commits or rolls back with the
change it describes), then hand the new rows to the in-transaction hooks and
queue the after-commit subscribers (activity/subscribers.py).
"""

from typing import Any

from django.db import connection, transaction
from django.db.models import Model

from accounts.models import User

from . import subscribers
from .models import Activity, target_of
from .verbs import ALL_VERBS


class NotInTransaction(RuntimeError):
    """record() called outside a transaction: the row would commit on its own."""


def _check(verb: str) -> None:
    if verb not in ALL_VERBS:
        raise ValueError(f"Unknown activity verb {verb!r}: add it to activity/verbs.py.")
    if not connection.in_atomic_block:
        raise NotInTransaction("Record activities inside the service's transaction.")


def build(
    *,
    actor: User | None,
    verb: str,
    target: Model,
    session_id: int | None = None,
    student_id: int | None = None,
    **data: Any,
) -> Activity:
    """An unsaved Activity, for `record_many`."""
    target_type, target_id = target_of(target)
    return Activity(
        actor=actor,
        verb=verb,
        target_type=target_type,
        target_id=target_id,
        session_id=session_id,
        student_id=student_id,
        data=data,
    )


def _dispatch(activities: list[Activity]) -> None:
    subscribers.run_in_transaction(activities)
    calls = subscribers.after_commit_calls(activities)
    if calls:
        transaction.on_commit(lambda: subscribers.deliver(calls))


def record(
    *,
    actor: User | None,
    verb: str,
    target: Model,
    session_id: int | None = None,
    student_id: int | None = None,
    **data: Any,
) -> Activity:
    """Write one activity in the caller's transaction (one INSERT) and queue its subscribers.

    `actor` is None when the system acted; `data` must be JSON-serialisable
    (dates and decimals are encoded by DjangoJSONEncoder).
    """
    _check(verb)
    activity = build(
        actor=actor,
        verb=verb,
        target=target,
        session_id=session_id,
        student_id=student_id,
        **data,
    )
    activity.save(force_insert=True)
    _dispatch([activity])
    return activity


def record_many(entries: list[Activity]) -> list[Activity]:
    """Write several activities of one transaction in one INSERT; see `record`.

    On SQLite and PostgreSQL the rows come back with their ids.
    """
    if not entries:
        return []
    for entry in entries:
        _check(entry.verb)
    activities = Activity.objects.bulk_create(entries)
    _dispatch(activities)
    return activities
