"""Who reacts to which verbs. Apps register in their `AppConfig.ready()`.

Two kinds, both keyed by an fnmatch-style pattern ("booking.*", "*", "session.updated"):

- `subscribe`: after commit, one call per activity. Nothing runs for work that
  rolls back; an exception is logged and counted (`practica_activity_subscriber_errors_total`)
  and never reaches the writer, whose transaction has already committed.
- `subscribe_in_transaction`: inside the writer's transaction, one call per
  `record()`/`record_many()` with the matching activities, for work that must
  commit or roll back with the change (an outbox row). Its exception IS an error
  of the write and propagates. With `only_if`, a QuerySet, the handler runs only
  when that QuerySet has a row: the activities' INSERT itself asks (an EXISTS in
  its RETURNING, `activity.services`), so a handler that needs rows which seldom
  exist (active webhook endpoints) costs the writer no statement of its own.
"""

import logging
from collections.abc import Callable
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING

from prometheus_client import Counter

if TYPE_CHECKING:
    from django.db.models import QuerySet

    from .models import Activity

logger = logging.getLogger(__name__)

SUBSCRIBER_ERRORS = Counter(
    "practica_activity_subscriber_errors_total",
    "After-commit activity subscribers that raised, by verb.",
    ["verb"],
)

AfterCommit = Callable[["Activity"], None]
InTransaction = Callable[[list["Activity"]], None]

_after_commit: list[tuple[str, AfterCommit]] = []
_in_transaction: list[tuple[str, InTransaction, "QuerySet | None"]] = []


def matches(pattern: str, verb: str) -> bool:
    # Case-sensitive on every platform: verbs are lower-case names, not file names.
    return fnmatchcase(verb, pattern)


def subscribe(pattern: str, handler: AfterCommit) -> None:
    """Call `handler(activity)` after commit for each new activity whose verb matches."""
    if (pattern, handler) not in _after_commit:  # ready() may run twice in tests
        _after_commit.append((pattern, handler))


def subscribe_in_transaction(
    pattern: str, handler: InTransaction, *, only_if: "QuerySet | None" = None
) -> None:
    """Call `handler(activities)` inside the writer's transaction with the matching ones;
    with `only_if`, only when that QuerySet has a row as the activities are inserted."""
    if all(entry[:2] != (pattern, handler) for entry in _in_transaction):
        _in_transaction.append((pattern, handler, only_if))


def unsubscribe(handler: Callable[..., None]) -> None:
    """Forget a handler (tests that register a temporary one)."""
    _after_commit[:] = [entry for entry in _after_commit if entry[1] is not handler]
    _in_transaction[:] = [entry for entry in _in_transaction if entry[1] is not handler]


def conditions_for(activities: list["Activity"]) -> list["QuerySet"]:
    """The `only_if` QuerySets of the in-transaction handlers these activities reach, for
    the INSERT to test (one EXISTS each), in the order `run_in_transaction` expects."""
    return [
        only_if
        for pattern, _handler, only_if in list(_in_transaction)
        if only_if is not None and any(matches(pattern, a.verb) for a in activities)
    ]


def run_in_transaction(activities: list["Activity"], met: list[bool] | None = None) -> None:
    """Run the matching in-transaction handlers; `met` answers `conditions_for(activities)`,
    in its order (a handler whose condition was not met is skipped)."""
    answers = iter(met or [])
    for pattern, handler, only_if in list(_in_transaction):
        matching = [activity for activity in activities if matches(pattern, activity.verb)]
        if not matching:
            continue
        if only_if is not None and not next(answers, True):
            continue
        handler(matching)


def after_commit_calls(activities: list["Activity"]) -> list[tuple[AfterCommit, "Activity"]]:
    """The (handler, activity) pairs to run once the transaction commits, in order."""
    return [
        (handler, activity)
        for activity in activities
        for pattern, handler in list(_after_commit)
        if matches(pattern, activity.verb)
    ]


def deliver(calls: list[tuple[AfterCommit, "Activity"]]) -> None:
    """Run after-commit handlers; one that raises is logged and counted, the others still run."""
    for handler, activity in calls:
        try:
            handler(activity)
        except Exception:
            SUBSCRIBER_ERRORS.labels(verb=activity.verb).inc()
            logger.exception(
                "Activity subscriber %s failed on %s (activity %s)",
                getattr(handler, "__qualname__", handler),
                activity.verb,
                activity.pk,
            )
