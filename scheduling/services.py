"""Writes on semesters' sessions. Every surface (API, pages, admin) calls these."""

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Count, OuterRef, ProtectedError, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import User
from activity import verbs
from activity.changes import column_values, diff, loaded_values
from activity.models import Activity
from activity.services import build, record
from config.atomic import service_transaction
from config.errors import PROTECTED, Conflict, PermissionDenied

from .access import check_can_manage, lock_session
from .conflicts import find_conflicts, lock_conflict_guards, raise_first_conflict
from .errors import NOT_EDITABLE, NOT_QUALIFIED, SESSION_CANCELLED, SessionProtected
from .models import Group, InstructorQualification, Semester, Session, Specialization
from .recurrence import WallClockError, local_start

# The fields a session update may change; the semester is fixed once created.
EDITABLE_FIELDS = (
    "title",
    "description",
    "instructor",
    "group",
    "target_specialization",
    "mixed_specialization",
    "session_type",
    "date_start",
    "date_end",
    "capacity",
    "credit_cost",
    "location",
    "meeting_link",
    "allow_overlap",
    "overlap_reason",
)
# The fields whose change the people booked are told about (old and new, by email):
# the time, the place and the type. The pages warn before such an edit
# (bookings.selectors.students_told_of) and notifications sends the emails.
TOLD_CHANGES = ("date_start", "date_end", "location", "session_type", "meeting_link")
# What a new session copies from the one it is made from (a duplicate, or a series'
# occurrence from its template): every field a session is created with but the times.
COPIED_FIELDS = (
    "title",
    "description",
    "instructor",
    "group",
    "target_specialization",
    "mixed_specialization",
    "session_type",
    "capacity",
    "credit_cost",
    "location",
    "meeting_link",
)
# Changing any of these may make the session clash with another (scheduling/conflicts.py).
CONFLICT_FIELDS = frozenset(
    {"instructor", "date_start", "date_end", "location", "session_type", "allow_overlap"}
)


def is_qualified(instructor: User, specialization: Specialization) -> bool:
    return (
        InstructorQualification.objects.active_today()
        .filter(instructor=instructor, specialization=specialization)
        .exists()
    )


def check_qualification(session: Session) -> None:
    if session.target_specialization_id and not is_qualified(
        session.instructor, session.target_specialization
    ):
        raise PermissionDenied(
            f"{session.instructor} holds no active qualification for "
            f"{session.target_specialization}.",
            code=NOT_QUALIFIED,
        )


def validate_session(session: Session) -> None:
    """Field and cross-field rules (ValidationError keyed by field).

    Foreign keys arrive as resolved objects, so their existence is not looked
    up again; the check and unique constraints stand behind this in the database.
    """
    fks = ["semester", "instructor", "group", "target_specialization", "series"]
    session.clean_fields(exclude=fks)
    session.clean()


def check_overlap_permission(
    by: User, fields: dict[str, Any], current: Session | None = None
) -> None:
    """Only staff allow overlaps. Turning the flag off only makes the rules stricter, and
    a body that sends back the current values (a GET body as a PUT) changes nothing."""
    changed = {
        name: value
        for name, value in fields.items()
        if name in ("allow_overlap", "overlap_reason")
        and (current is None or getattr(current, name) != value)
    }
    if (changed.get("allow_overlap") or changed.get("overlap_reason")) and not by.is_staff:
        raise PermissionDenied("Only staff may allow a session to overlap others.")


def overlap_data(session: Session) -> dict[str, Any]:
    """What an activity records of a deliberate overlap (nothing when there is none)."""
    if not session.allow_overlap:
        return {}
    return {"allow_overlap": True, "overlap_reason": session.overlap_reason}


def check_conflicts_locked(sessions: list[Session]) -> None:
    """Lock the conflict guards and refuse the first clash (409 instructor_busy or
    location_busy, naming the sessions). Precondition: inside service_transaction()."""
    lock_conflict_guards(sessions)
    raise_first_conflict(find_conflicts(sessions))


def session_create(*, by: User, semester: Semester, **fields: Any) -> Session:
    return _create(by=by, semester=semester, fields=fields)


def _create(*, by: User, semester: Semester, fields: dict[str, Any], **data: Any) -> Session:
    """`session_create`; `data` is added to the session.created activity."""
    check_can_manage(by, semester)
    # A new session is scheduled; its status changes only through cancel_session.
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"Unknown session fields: {sorted(unknown)}")
    check_overlap_permission(by, fields)
    session = Session(semester=semester, **fields)
    validate_session(session)
    check_qualification(session)
    with service_transaction():
        check_conflicts_locked([session])
        session.save()
        record(
            actor=by,
            verb=verbs.SESSION_CREATED,
            target=session,
            session_id=session.pk,
            title=session.title,
            date_start=session.date_start,
            **overlap_data(session),
            **data,
        )
    return session


# Ten years: far enough for any plan, near enough to catch a typo.
MAX_DUPLICATE_WEEKS = 520


def duplicate_start(
    session: Session,
    *,
    date_start: datetime | None = None,
    day: date | None = None,
    weeks: int | None = None,
) -> datetime:
    """Where a duplicate starts: at `date_start`, or on `day` at the session's local
    wall-clock time, or `weeks` later at the same local time (default: one week later,
    the same weekday). Wall-clock, so a copy across a daylight-saving change keeps its hour."""
    given = [value for value in (date_start, day, weeks) if value is not None]
    if len(given) > 1:
        raise ValidationError(
            {"date_start": "Give a start, a day or a number of weeks, not several."}
        )
    if date_start is not None:
        return date_start
    local = timezone.localtime(session.date_start, timezone.get_default_timezone())
    if day is None:
        weeks = 1 if weeks is None else weeks
        if not isinstance(weeks, int) or not 1 <= abs(weeks) <= MAX_DUPLICATE_WEEKS:
            raise ValidationError({"weeks": f"Whole weeks, 1 to {MAX_DUPLICATE_WEEKS} either way."})
        day = local.date() + timedelta(weeks=weeks)
    try:
        return local_start(day, local.time())
    except WallClockError as error:
        raise ValidationError({"date_start": str(error)}) from error


def session_duplicate(
    *,
    session: Session,
    by: User,
    date_start: datetime | None = None,
    day: date | None = None,
    weeks: int | None = None,
) -> Session:
    """A new session with `session`'s fields and length at another time
    (`duplicate_start`), validated and recorded as any new session is (semester
    dates, qualification, conflicts; session.created with `duplicated_from`). It
    belongs to no series; a deliberate overlap is not copied (staff decide it anew)."""
    start = duplicate_start(session, date_start=date_start, day=day, weeks=weeks)
    fields = {name: getattr(session, name) for name in COPIED_FIELDS}
    fields.update(date_start=start, date_end=start + (session.date_end - session.date_start))
    return _create(by=by, semester=session.semester, fields=fields, duplicated_from=session.pk)


def session_update_prepare(*, session: Session, by: User, changes: dict[str, Any]) -> None:
    """Check and apply `changes` to the (unsaved) session, before any lock is taken.

    The first half of `bookings.services.session_update`, the session edit every
    surface calls: an edit may move seats (capacity, cost), which bookings owns.
    The semester cannot change.
    """
    check_can_manage(by, session.semester)
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise Conflict(
            f"These fields cannot be changed: {', '.join(sorted(unknown))}.", code=NOT_EDITABLE
        )
    check_overlap_permission(by, changes, current=session)
    for name, value in changes.items():
        setattr(session, name, value)
    validate_session(session)
    if "target_specialization" in changes or "instructor" in changes:
        check_qualification(session)


def session_update_apply(
    *, session: Session, locked: Session, by: User, changes: dict[str, Any]
) -> list[Activity]:
    """Save what `session_update_prepare` applied. `locked` is the row as it stands.

    Returns the `session.updated` activity (none when nothing changed), unsaved:
    `bookings.services.session_update` records it with the promotions the edit
    causes, in one INSERT. Precondition: inside service_transaction(), `locked`
    from `lock_session`.
    """
    if locked.status == Session.Status.CANCELLED:
        raise Conflict("A cancelled session cannot be edited.", code=SESSION_CANCELLED)
    if CONFLICT_FIELDS & set(changes):
        # After the session's own lock, as the lock order wants (scheduling/conflicts.py).
        check_conflicts_locked([session])
    # Only what this edit touched (and what clean() derives from it), so a
    # concurrent edit of other fields is not overwritten with stale values.
    touched = set(changes) | {"updated_at"}
    if "allow_overlap" in changes:
        touched.add("overlap_reason")  # clean() clears it with the flag
    if "session_type" in changes:
        touched |= {"location", "meeting_link"}
    session.save(update_fields=sorted(touched))
    # Old values from the row just locked: the caller's instance already holds the new ones.
    fields = sorted(touched - {"updated_at"})
    changed = diff(column_values(locked, fields), column_values(session, fields))
    if not changed:
        return []
    return [
        build(
            actor=by,
            verb=verbs.SESSION_UPDATED,
            target=session,
            session_id=session.pk,
            changes=changed,
        )
    ]


def count_referencing_rows(instance: Any, relations: dict[str, tuple[Any, str]]) -> dict[str, int]:
    """Count, in one query, the rows of each `name: (model, fk_column)` that point at `instance`."""

    def count_of(model: Any, column: str) -> Coalesce:
        rows = (
            model.objects.filter(**{column: OuterRef("pk")})
            .order_by()
            .values(column)
            .annotate(n=Count("pk"))
            .values("n")
        )
        return Coalesce(Subquery(rows), 0)

    # Prefixed names: a bare "bookings" would clash with the reverse relation.
    annotations = {
        f"referencing_{name}": count_of(model, column)
        for name, (model, column) in relations.items()
    }
    counts = (
        type(instance)
        .objects.filter(pk=instance.pk)
        .annotate(**annotations)
        .values(*annotations)
        .get()
    )
    return {name.removeprefix("referencing_"): count for name, count in counts.items()}


def protecting_relations(model: type[models.Model]) -> dict[str, tuple[Any, str]]:
    """Every relation whose rows PROTECT `model`'s, as `name: (model, fk_column)`.

    Discovered from the model's reverse relations, so scheduling counts the rows of
    the apps above it (bookings, engagement) without importing them, and a new
    PROTECT key is counted without an edit here. Each is named by the referencing
    model's declared `BLOCKING_KEY`, or else by its `related_name`: the names are
    part of the API (`blocking` in a 409).
    """
    relations = {}
    for relation in model._meta.related_objects:
        if relation.on_delete is not models.PROTECT:
            continue
        name = getattr(relation.related_model, "BLOCKING_KEY", None) or relation.related_name
        relations[name] = (relation.related_model, relation.field.attname)
    return relations


def blocking_relations(session: Session) -> dict[str, int]:
    """Count every row that PROTECTs the session, in one query."""
    return count_referencing_rows(session, protecting_relations(Session))


def session_delete(*, session: Session, by: User) -> None:
    """Delete a session nothing refers to; otherwise raise SessionProtected.

    The session row is locked first, as bookings lock it, so no booking can slip
    in between the count and the delete; PROTECT stays as the backstop.
    """
    check_can_manage(by, session.semester)
    with service_transaction():
        lock_session(session.pk)
        blocking = blocking_relations(session)
        if any(blocking.values()):
            raise SessionProtected(blocking)
        record(
            actor=by,
            verb=verbs.SESSION_DELETED,
            target=session,
            session_id=session.pk,
            title=session.title,
            date_start=session.date_start,
        )
        session.delete()


SEMESTER_FIELDS = (
    "code",
    "name",
    "start_date",
    "end_date",
    "location",
    "is_active",
    "master_instructor",
)


def check_staff(user: User, action: str) -> None:
    if not user.is_staff:
        raise PermissionDenied(f"Only staff may {action}.")


def semester_create(*, by: User, **fields: Any) -> Semester:
    check_staff(by, "create semesters")
    unknown = set(fields) - set(SEMESTER_FIELDS)
    if unknown:
        raise TypeError(f"Unknown semester fields: {sorted(unknown)}")
    semester = Semester(**fields)
    # The master instructor arrives resolved; unique `code` is checked here, once.
    semester.full_clean(exclude=["master_instructor"])
    with service_transaction():
        semester.save()
        record(actor=by, verb=verbs.SEMESTER_CREATED, target=semester, code=semester.code)
    return semester


def semester_update(*, semester: Semester, by: User, **changes: Any) -> Semester:
    """Change a semester. Its sessions' dates are not re-validated against new dates:
    moving a semester under existing sessions is staff's deliberate call."""
    check_staff(by, "edit semesters")
    unknown = set(changes) - set(SEMESTER_FIELDS)
    if unknown:
        raise TypeError(f"Unknown semester fields: {sorted(unknown)}")
    # As read from the database: an admin form has already set the new values on the instance.
    old = loaded_values(semester, changes)
    for name, value in changes.items():
        setattr(semester, name, value)
    semester.full_clean(exclude=["master_instructor"])
    changed = diff(old, column_values(semester, changes))
    with service_transaction():
        semester.save()
        if changed:
            record(actor=by, verb=verbs.SEMESTER_UPDATED, target=semester, changes=changed)
    return semester


def semester_blocking_relations(semester: Semester) -> dict[str, int]:
    """Count the rows that PROTECT the semester, in one query."""
    return count_referencing_rows(semester, protecting_relations(Semester))


def semester_delete(*, semester: Semester, by: User) -> None:
    """Delete a semester nothing refers to; otherwise a `protected` Conflict with counts.

    PROTECT stays the backstop: a session committed between the count and the
    delete makes Django's collector raise ProtectedError, answered the same way.
    """
    check_staff(by, "delete semesters")
    with service_transaction():
        blocking = semester_blocking_relations(semester)
        try:
            if not any(blocking.values()):
                record(actor=by, verb=verbs.SEMESTER_DELETED, target=semester, code=semester.code)
                semester.delete()
                return
        except ProtectedError:
            blocking = semester_blocking_relations(semester)
        listed = ", ".join(f"{count} {name}" for name, count in blocking.items() if count)
        raise Conflict(
            f"The semester cannot be deleted: it is referenced by {listed}.",
            code=PROTECTED,
            blocking=blocking,
        )


# A group's fields a service may set; the semester only at creation.
GROUP_FIELDS = ("name", "semester")


def check_members(members: list[User]) -> None:
    """Groups are classes of students: any other member is a 400 naming `members`."""
    others = sorted(member.pk for member in members if not member.is_student)
    if others:
        raise ValidationError(
            {"members": f"Only students can be group members; not: {', '.join(map(str, others))}."}
        )


def validate_group(group: Group) -> None:
    # The semester arrives resolved (no existence query); the constraints check the
    # name's uniqueness within the semester, as the database will.
    group.clean_fields(exclude=["semester"])
    group.validate_constraints()


def group_create(*, by: User, name: str, semester: Semester, members: Iterable[User] = ()) -> Group:
    check_staff(by, "create groups")
    members = list(members)
    check_members(members)
    group = Group(name=name, semester=semester)
    validate_group(group)
    with service_transaction():
        group.save()
        if members:
            group.members.add(*members)
        record(
            actor=by,
            verb=verbs.GROUP_CREATED,
            target=group,
            name=group.name,
            semester=group.semester_id,
            members=sorted(member.pk for member in members),
        )
    return group


def group_update(*, group: Group, by: User, **changes: Any) -> Group:
    """Rename a group or change its members (`members`: the whole new list).

    The group row is locked and read first: concurrent edits of its members then
    run one after the other, so each names exactly who it added and removed; and
    the old name comes from the row, not from an instance a form already changed.
    """
    check_staff(by, "edit groups")
    unknown = set(changes) - {*GROUP_FIELDS, "members"}
    if unknown:
        raise TypeError(f"Unknown group fields: {sorted(unknown)}")
    members = changes.pop("members", None)
    if members is not None:
        members = list(members)
        check_members(members)
    for name, value in changes.items():
        setattr(group, name, value)
    with service_transaction():
        try:
            locked = (
                Group.objects.select_for_update().values("name", "semester_id").get(pk=group.pk)
            )
        except Group.DoesNotExist:
            # Deleted while this edit waited for its lock: a state, not a crash.
            raise Conflict("The group no longer exists.") from None
        if group.semester_id != locked["semester_id"]:
            raise ValidationError({"semester": "A group's semester cannot change."})
        validate_group(group)
        changed = diff({"name": locked["name"]}, {"name": group.name})
        if changed:
            group.save(update_fields=["name"])
        data: dict[str, Any] = {"changes": changed}
        if members is not None:
            current = set(group.members.values_list("pk", flat=True))
            wanted = {member.pk for member in members}
            added, removed = sorted(wanted - current), sorted(current - wanted)
            if removed:
                group.members.remove(*removed)
            if added:
                group.members.add(*added)
            data.update(members_added=added, members_removed=removed)
        if changed or data.get("members_added") or data.get("members_removed"):
            record(actor=by, verb=verbs.GROUP_UPDATED, target=group, **data)
    return group


def group_blocking_relations(group: Group) -> dict[str, int]:
    """Count the rows that PROTECT the group (its sessions), in one query."""
    return count_referencing_rows(group, protecting_relations(Group))


def group_delete(*, group: Group, by: User) -> None:
    """Delete a group no session refers to; otherwise a `protected` Conflict with counts.

    As `semester_delete`: PROTECT is the backstop for a session that commits between
    the count and the delete. The members go with the group (the membership rows only).
    """
    check_staff(by, "delete groups")
    with service_transaction():
        blocking = group_blocking_relations(group)
        try:
            if not any(blocking.values()):
                record(
                    actor=by,
                    verb=verbs.GROUP_DELETED,
                    target=group,
                    name=group.name,
                    semester=group.semester_id,
                )
                group.delete()
                return
        except ProtectedError:
            blocking = group_blocking_relations(group)
        listed = ", ".join(f"{count} {name}" for name, count in blocking.items() if count)
        raise Conflict(
            f"The group cannot be deleted: it is referenced by {listed}.",
            code=PROTECTED,
            blocking=blocking,
        )
