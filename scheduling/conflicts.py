"""Instructor and location conflicts: the overlap rules, written once.

Two scheduled sessions conflict when their times overlap (half-open ranges: one may
start when the other ends) and they share the instructor, or the same non-empty
location (`location_key`: case and spaces ignored) that is not shareable
(`settings.SHAREABLE_LOCATIONS`). A session with `allow_overlap` (staff's call, with
a reason) conflicts with nothing, and cancelled sessions never conflict.

Writers call `lock_conflict_guards` and then `find_conflicts` inside their
transaction, so that two concurrent writers cannot both pass the check. Lock order,
extending the one of bookings/services.py: session rows first (ascending id), then
the instructors' user rows (ascending id, FOR NO KEY UPDATE, so that rows pointing
at them can still be inserted), then one transaction-scoped advisory lock per
location (ascending key), and only then students' user rows. A new session has no
row yet: its writer starts at the instructors. Nothing locks students before
instructors, so no two writers wait on each other in a cycle.

On PostgreSQL the exclusion constraint `session_instructor_no_overlap` (migration
0002) stands behind the instructor rule.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection
from django.db.models import Q, Value
from django.db.models.functions import Lower, Replace

from accounts.models import User
from config.errors import Conflict

from .errors import INSTRUCTOR_BUSY, LOCATION_BUSY
from .models import Session

# The first key of pg_advisory_xact_lock(int, int): this application's location locks.
LOCATION_LOCK_CLASS = 1_180_018


def location_key(location: str) -> str:
    """What two locations are compared by: case and spaces ignored ("Room 1" = "room1")."""
    return location.replace(" ", "").lower()


def is_shareable(location: str) -> bool:
    return location_key(location) in {location_key(name) for name in settings.SHAREABLE_LOCATIONS}


def takes_part(session: Session) -> bool:
    """Whether the session can conflict at all."""
    return session.status == Session.Status.SCHEDULED and not session.allow_overlap


def guarded_location(session: Session) -> str:
    """The location key the session holds exclusively, or "" when it holds none."""
    if not session.location or is_shareable(session.location):
        return ""
    return location_key(session.location)


@dataclass
class SessionConflict:
    """One candidate's clashes: `code` is instructor_busy or location_busy."""

    session: Session
    code: str
    others: list[Session] = field(default_factory=list)

    def describe(self) -> list[dict]:
        return [
            {"id": other.pk, "title": other.title, "date_start": other.date_start.isoformat()}
            for other in self.others
        ]

    @property
    def message(self) -> str:
        what = "The instructor teaches" if self.code == INSTRUCTOR_BUSY else "The location has"
        named = "; ".join(
            f"{other.title} ({other.date_start:%Y-%m-%d %H:%M}"
            + (f", session {other.pk})" if other.pk else ")")
            for other in self.others
        )
        return f"{what} another session at that time: {named}."


def _overlap(a: Session, b: Session) -> bool:
    return a.date_start < b.date_end and b.date_start < a.date_end


def find_conflicts(
    candidates: Sequence[Session], *, ignore: Iterable[int] = ()
) -> list[SessionConflict]:
    """The conflicts of each candidate with the stored sessions and with the candidates
    listed before it (a series' own occurrences), in one query.

    Stored rows with ids in `ignore` or among the candidates are not compared (their
    new state is the candidate's). Instructor conflicts come before location ones.
    """
    active = [c for c in candidates if takes_part(c)]
    if not active:
        return []
    keys = {guarded_location(c) for c in active} - {""}
    near = Q(instructor_id__in={c.instructor_id for c in active})
    if keys:
        near |= Q(location_key__in=keys)
    skipped = set(ignore) | {c.pk for c in candidates if c.pk}
    stored = list(
        Session.objects.annotate(location_key=Replace(Lower("location"), Value(" "), Value("")))
        .filter(
            near,
            status=Session.Status.SCHEDULED,
            allow_overlap=False,
            date_start__lt=max(c.date_end for c in active),
            date_end__gt=min(c.date_start for c in active),
        )
        .exclude(pk__in=skipped)
        .only("pk", "title", "date_start", "date_end", "instructor_id", "location")
        .order_by("date_start", "pk")
    )
    conflicts: list[SessionConflict] = []
    for index, candidate in enumerate(active):
        others = [*stored, *active[:index]]
        busy_instructor = [
            o
            for o in others
            if o.instructor_id == candidate.instructor_id and _overlap(candidate, o)
        ]
        if busy_instructor:
            conflicts.append(SessionConflict(candidate, INSTRUCTOR_BUSY, busy_instructor))
            continue
        key = guarded_location(candidate)
        busy_location = [
            o for o in others if key and location_key(o.location) == key and _overlap(candidate, o)
        ]
        if busy_location:
            conflicts.append(SessionConflict(candidate, LOCATION_BUSY, busy_location))
    return conflicts


def lock_conflict_guards(candidates: Sequence[Session]) -> None:
    """Take the locks that serialise conflict checks (see the module's lock order).

    Precondition: inside service_transaction(), after any session row locks.
    """
    active = [c for c in candidates if takes_part(c)]
    if not active:
        return
    instructor_ids = sorted({c.instructor_id for c in active})
    list(User.objects.filter(pk__in=instructor_ids).order_by("pk").select_for_update(no_key=True))
    keys = sorted({guarded_location(c) for c in active} - {""})
    if keys and connection.vendor == "postgresql":
        # SQLite serialises writers already; PostgreSQL has no row for a location to lock.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s, hashtext(k)) "
                "FROM (SELECT unnest(%s::text[]) AS k ORDER BY 1) AS keys",
                [LOCATION_LOCK_CLASS, keys],
            )


def raise_first_conflict(conflicts: list[SessionConflict]) -> None:
    if conflicts:
        first = conflicts[0]
        raise Conflict(first.message, code=first.code, conflicts=first.describe())
