"""The transaction boundary every write service runs in.

It sets a short PostgreSQL `lock_timeout`, so that a request waiting for a
contended row gives up with `Busy` (HTTP 503 + Retry-After) instead of holding
a worker, and it turns database refusals into domain conflicts, so that no
`IntegrityError` reaches a caller.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.conf import settings
from django.db import IntegrityError, OperationalError, connection, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.signals import connection_created
from django.dispatch import receiver

# Constraint names whose violation has a meaning of its own for a client are declared
# by the apps that own them (`error_code(..., constraints=...)` in their errors.py).
from .errors import CONSTRAINT_CODES, CONSTRAINT_VIOLATED, Busy, Conflict

LOCK_NOT_AVAILABLE = "55P03"
DEADLOCK_DETECTED = "40P01"
SERIALIZATION_FAILURE = "40001"


def _constraint_of(error: IntegrityError) -> str:
    cause = error.__cause__
    name = getattr(getattr(cause, "diag", None), "constraint_name", None)
    if name:
        return name
    text = str(error)
    for constraint in CONSTRAINT_CODES:
        if constraint in text:
            return constraint
    return ""


def integrity_conflict(error: IntegrityError) -> Conflict:
    constraint = _constraint_of(error)
    code = CONSTRAINT_CODES.get(constraint, CONSTRAINT_VIOLATED)
    return Conflict(f"The database refused the change ({constraint or 'integrity'}).", code=code)


# The lock_timeout (ms) that this connection's PostgreSQL session already has, set by
# `_set_lock_timeout`; a new connection has the server's default.
LOCK_TIMEOUT_ATTRIBUTE = "practica_lock_timeout_ms"


@receiver(connection_created)
def _forget_lock_timeout(sender: object, connection: BaseDatabaseWrapper, **kwargs: object) -> None:
    setattr(connection, LOCK_TIMEOUT_ATTRIBUTE, None)


def _set_lock_timeout() -> None:
    """Give the service's transaction its lock_timeout, without a statement when the
    connection already has it.

    Outside a transaction the setting is made for the connection's session (a SET in
    autocommit is kept, and persistent connections keep it across requests), so a
    service transaction normally starts without a statement of its own. Inside
    someone else's transaction a SET would be undone by their rollback, so it is
    SET LOCAL there, every time.
    """
    wanted = settings.BOOKING_LOCK_TIMEOUT_MS
    if getattr(connection, LOCK_TIMEOUT_ATTRIBUTE, None) == wanted:
        return
    local = connection.in_atomic_block
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('lock_timeout', %s, %s)", [f"{wanted}ms", local])
    if not local:
        setattr(connection, LOCK_TIMEOUT_ATTRIBUTE, wanted)


# True inside a `service_transaction(join_nested=True)`: the services nested in it join
# its transaction instead of opening a savepoint.
_NESTED_JOIN: ContextVar[bool] = ContextVar("service_transaction_nested_join", default=False)


@contextmanager
def service_transaction(*, join_nested: bool = False) -> Iterator[None]:
    """The service's transaction, or, inside another, a savepoint, so that a refusal
    undoes the service's own writes and leaves the caller's transaction usable.

    With `join_nested`, the service transactions nested in this one run without a
    savepoint (its SAVEPOINT and RELEASE cost two round trips): a refusal inside them
    then leaves this transaction marked for rollback (`connection.needs_rollback`), and
    the caller must roll it back whole (`bookings.idempotency` does, then stores the
    refusal in a transaction of its own).
    """
    joined = _NESTED_JOIN.get() and connection.in_atomic_block
    token = _NESTED_JOIN.set(join_nested)
    try:
        if connection.vendor == "postgresql":
            _set_lock_timeout()
        with transaction.atomic(savepoint=not joined):
            yield
    except IntegrityError as error:
        raise integrity_conflict(error) from error
    except OperationalError as error:
        sqlstate = getattr(error.__cause__, "sqlstate", None)
        busy_states = {LOCK_NOT_AVAILABLE, DEADLOCK_DETECTED, SERIALIZATION_FAILURE}
        if sqlstate in busy_states or "database is locked" in str(error):
            raise Busy("The session is busy; retry shortly.") from error
        raise
    finally:
        _NESTED_JOIN.reset(token)
