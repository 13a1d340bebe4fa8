"""The transaction boundary every write service runs in.

It sets a short PostgreSQL `lock_timeout`, so that a request waiting for a
contended row gives up with `Busy` (HTTP 503 + Retry-After) instead of holding
a worker, and it turns database refusals into domain conflicts, so that no
`IntegrityError` reaches a caller.
"""

from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import IntegrityError, OperationalError, connection, transaction

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


@contextmanager
def service_transaction() -> Iterator[None]:
    try:
        with transaction.atomic():
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    # SET LOCAL lasts until the end of the outermost transaction.
                    cursor.execute(
                        "SELECT set_config('lock_timeout', %s, true)",
                        [f"{settings.BOOKING_LOCK_TIMEOUT_MS}ms"],
                    )
            yield
    except IntegrityError as error:
        raise integrity_conflict(error) from error
    except OperationalError as error:
        sqlstate = getattr(error.__cause__, "sqlstate", None)
        busy_states = {LOCK_NOT_AVAILABLE, DEADLOCK_DETECTED, SERIALIZATION_FAILURE}
        if sqlstate in busy_states or "database is locked" in str(error):
            raise Busy("The session is busy; retry shortly.") from error
        raise
