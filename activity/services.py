"""Writing activities: `record` one, or `record_many` in one INSERT.

Both run inside the caller's transaction (the row commits or rolls back with the
change it describes), then hand the new rows to the in-transaction hooks and
queue the after-commit subscribers (activity/subscribers.py).
"""

from typing import Any

from django.db import connection, transaction
from django.db.models import Model, QuerySet
from django.db.models.sql import InsertQuery

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


def _insert(activities: list[Activity]) -> list[bool]:
    """INSERT the activities in one statement, which also answers the in-transaction
    handlers' `only_if` conditions: `RETURNING id, EXISTS(...), ...`.

    What `bulk_create` does, plus those EXISTS: they cost the writer no statement of
    their own, and they see what a SELECT right after the INSERT would see (READ
    COMMITTED: the statement's snapshot), so a handler is never skipped on stale news.
    """
    conditions = subscribers.conditions_for(activities)
    opts = Activity._meta
    query = InsertQuery(Activity)
    query.insert_values([f for f in opts.concrete_fields if f is not opts.auto_field], activities)
    compiler = query.get_compiler(connection=connection)
    compiler.returning_fields = [opts.pk]
    ((sql, params),) = compiler.as_sql()
    params = list(params)
    for condition in conditions:
        exists_sql, exists_params = _exists_sql(condition)
        sql += f", {exists_sql}"
        params += exists_params
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    for activity, row in zip(activities, rows, strict=True):
        activity.pk = row[0]
        activity._state.adding = False
        activity._state.db = connection.alias
    return [bool(answer) for answer in rows[0][1:]]


def _exists_sql(condition: QuerySet) -> tuple[str, list[Any]]:
    rows = condition.order_by().values("pk")[:1]
    sql, params = rows.query.get_compiler(connection=connection).as_sql()
    return f"EXISTS({sql})", list(params)


def _dispatch(activities: list[Activity], met: list[bool]) -> None:
    subscribers.run_in_transaction(activities, met)
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
    _dispatch([activity], _insert([activity]))
    return activity


def record_many(entries: list[Activity]) -> list[Activity]:
    """Write several activities of one transaction in one INSERT; see `record`.

    On SQLite and PostgreSQL the rows come back with their ids.
    """
    if not entries:
        return []
    for entry in entries:
        _check(entry.verb)
    _dispatch(entries, _insert(entries))
    return entries
