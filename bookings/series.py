"""Changes to a series' occurrences with a scope: `this` one, it and the `following`
ones, or `all` remaining. They move seats, so they live beside the session edits and
cancellations they are made of (`session_update`, `cancel_session`): each occurrence
is changed exactly as a single session would be, with its refunds and promotions,
and the whole scope in one transaction. Occurrences that have started are never
touched; occurrences with bookings are moved in place, so their bookings survive.
"""

import copy
from dataclasses import dataclass, field
from datetime import date, time, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone

from accounts.models import User
from activity import verbs
from activity.services import build, record, record_many
from config.atomic import service_transaction
from config.errors import DomainError, PermissionDenied
from scheduling.access import can_manage_semester
from scheduling.conflicts import find_conflicts, lock_conflict_guards
from scheduling.models import Session, SessionSeries
from scheduling.recurrence import WallClockError, local_start, occurrence_dates
from scheduling.series import (
    INVALID,
    TEMPLATE_FIELDS,
    Problem,
    check_rule,
    local_date,
    occurrences_created,
    refuse,
    template_values,
)
from scheduling.services import TOLD_CHANGES, check_qualification, validate_session

from .models import Booking
from .services import _lock_sessions, cancel_session, session_update

THIS, FOLLOWING, ALL = "this", "following", "all"
SCOPES = (THIS, FOLLOWING, ALL)
# What a scoped edit may change: the template's fields (the instructor too) and the
# time of day and length; dates stay on their days.
TIME_FIELDS = ("start_time", "duration_minutes")
# A new rule for the following occurrences ("this and following" only): their dates are
# laid out again from the chosen occurrence's date.
RULE_CHANGE_FIELDS = ("weekdays", "until_date", "count", "skipped_dates")


def _check(by: User, series: SessionSeries, scope: str, occurrence: Session | None) -> None:
    if not can_manage_semester(by, series.semester):
        raise PermissionDenied(
            f"Only staff or the master instructor of {series.semester.code} may change its series."
        )
    if scope not in SCOPES:
        raise ValidationError({"scope": f"One of {', '.join(SCOPES)}."})
    if scope != ALL and (occurrence is None or occurrence.series_id != series.pk):
        raise ValidationError({"occurrence": "An occurrence of this series is needed."})


def occurrences_in_scope(
    series: SessionSeries, scope: str, occurrence: Session | None
) -> QuerySet[Session]:
    """The scheduled occurrences a change reaches, in date order: never one that started."""
    chosen = series.occurrences.filter(
        status=Session.Status.SCHEDULED, date_start__gt=timezone.now()
    ).select_related("semester")
    if scope == THIS:
        chosen = chosen.filter(pk=occurrence.pk)
    elif scope == FOLLOWING:
        chosen = chosen.filter(date_start__gte=occurrence.date_start)
    return chosen.order_by("date_start", "pk")


def _naming_the_date(error: Exception, session: Session) -> Exception:
    day = timezone.localdate(session.date_start)
    if isinstance(error, DomainError):
        return type(error)(f"{day}: {error.message}", code=error.code, **error.extra)
    if isinstance(error, ValidationError) and hasattr(error, "error_dict"):
        return ValidationError(
            {
                field: [f"{day}: {m}" for m in messages]
                for field, messages in error.message_dict.items()
            }
        )
    return error


def _moved(session: Session, start_time: time | None, duration: int | None) -> dict[str, Any]:
    """The new start and end of an occurrence kept on its local date."""
    if start_time is None and duration is None:
        return {}
    local = timezone.localtime(session.date_start)
    start = local_start(local.date(), start_time or local.time())
    length = timedelta(minutes=duration) if duration else session.date_end - session.date_start
    return {"date_start": start, "date_end": start + length}


@dataclass(frozen=True)
class SeriesChangeResult:
    sessions: list[Session]
    credits_refunded: int = 0
    # The series the occurrences belong to afterwards: a new one when the edit split it.
    series: SessionSeries | None = None


def series_update(
    *,
    series: SessionSeries,
    by: User,
    scope: str,
    occurrence: Session | None = None,
    **changes: Any,
) -> SeriesChangeResult:
    """Edit the occurrences in scope as `session_update` edits one, in one transaction.

    `start_time` and `duration_minutes` move each occurrence on its own local date at
    the new wall-clock time. For `following` and `all` the series' template and rule
    take the changes too, so it describes its later occurrences.
    """
    _check(by, series, scope, occurrence)
    changes, start_time, duration, rule = _sorted_changes(scope, changes)
    if rule:
        return _reschedule(series, by, occurrence, changes, start_time, duration, rule)
    with service_transaction():
        targets = list(occurrences_in_scope(series, scope, occurrence))
        # The whole scope's rows first, in ascending id, before any user row (the lock order).
        _lock_sessions(target.pk for target in targets)
        edited = series
        split = scope == FOLLOWING and (start_time is not None or duration is not None)
        if split and series.occurrences.filter(date_start__lt=occurrence.date_start).exists():
            edited = _split(series, occurrence)
        for target in targets:
            try:
                fields = {**changes, **_moved(target, start_time, duration)}
                session_update(session=target, by=by, **fields)
            except WallClockError as error:
                raise ValidationError({"start_time": str(error)}) from error
            except (DomainError, ValidationError) as error:
                raise _naming_the_date(error, target) from error
        if scope != THIS:
            for name, value in changes.items():
                setattr(edited, name, value)
            if start_time is not None:
                edited.start_time = start_time
            if duration is not None:
                edited.duration_minutes = duration
            edited.save()
        record(
            actor=by,
            verb=verbs.SERIES_UPDATED,
            target=series,
            scope=scope,
            **({"split_into": edited.pk} if edited is not series else {}),
            sessions=[target.pk for target in targets],
            changes={name: getattr(value, "pk", value) for name, value in changes.items()}
            | ({"start_time": start_time.isoformat()} if start_time else {})
            | ({"duration_minutes": duration} if duration else {}),
        )
    return SeriesChangeResult(sessions=targets, series=edited)


def _split(series: SessionSeries, occurrence: Session) -> SessionSeries:
    """Cut `series` before `occurrence` and move it and every later occurrence (of any
    status) to a new series with the same template and rule from that date on, which
    points back at the original (`split_from`). The earlier occurrences, their
    attendance and bookings stay untouched with the original; the moved ones keep
    their rows, so their bookings survive. Precondition: inside service_transaction()."""
    pivot = timezone.localdate(occurrence.date_start)
    if pivot <= series.first_date:
        return series  # nothing earlier on the rule: the whole series changes
    later = SessionSeries.objects.get(pk=series.pk)
    later.pk = None
    later.split_from = series
    later.first_date = pivot
    later.skipped_dates = [day for day in series.skipped_dates if day >= pivot.isoformat()]
    if series.count is not None:
        earlier = _counted_before(series, pivot)
        later.count = max(series.count - earlier, 1)
        series.count = max(earlier, 1)
    else:
        series.until_date = pivot - timedelta(days=1)
    series.skipped_dates = [day for day in series.skipped_dates if day < pivot.isoformat()]
    later.save()
    series.save(update_fields=["count", "until_date", "skipped_dates", "updated_at"])
    series.occurrences.filter(date_start__gte=occurrence.date_start).update(series=later)
    return later


def _counted_before(series: SessionSeries, pivot: date) -> int:
    """How many dates of a counted rule fall before `pivot`: what its count has used up
    there (the split and the new rule from `pivot` both start from what is left)."""
    dates = occurrence_dates(
        weekdays=series.weekdays,
        first_date=series.first_date,
        until_date=pivot - timedelta(days=1),
        count=series.count,
        skipped_dates={date.fromisoformat(day) for day in series.skipped_dates},
        limit=settings.SERIES_MAX_OCCURRENCES,
    )
    return len(dates)


def series_cancel(
    *, series: SessionSeries, by: User, scope: str, occurrence: Session | None = None
) -> SeriesChangeResult:
    """Cancel the occurrences in scope, each exactly as `cancel_session` cancels one
    (every confirmed booking refunded in full once, open ones cancelled, the
    promotions the refunds allow elsewhere), all in one transaction."""
    _check(by, series, scope, occurrence)
    refunded = 0
    with service_transaction():
        targets = list(occurrences_in_scope(series, scope, occurrence))
        _lock_sessions(target.pk for target in targets)
        for target in targets:
            try:
                refunded += cancel_session(session=target, by=by).credits_refunded
            except DomainError as error:
                raise _naming_the_date(error, target) from error
        record(
            actor=by,
            verb=verbs.SERIES_CANCELLED,
            target=series,
            scope=scope,
            sessions=[target.pk for target in targets],
            credits_refunded=refunded,
        )
    return SeriesChangeResult(sessions=targets, credits_refunded=refunded)


def _sorted_changes(
    scope: str, changes: dict[str, Any]
) -> tuple[dict[str, Any], time | None, int | None, dict[str, Any]]:
    """The template's changes, the new time and length, and the new rule (400 naming a
    field no scoped edit takes, or a rule sent with a scope other than `following`)."""
    changes = dict(changes)
    unknown = set(changes) - set(TEMPLATE_FIELDS) - set(TIME_FIELDS) - set(RULE_CHANGE_FIELDS)
    if unknown:
        raise ValidationError(
            {name: "This field cannot be changed on a series." for name in sorted(unknown)}
        )
    start_time = changes.pop("start_time", None)
    duration = changes.pop("duration_minutes", None)
    if duration is not None and not 1 <= duration <= 24 * 60:
        raise ValidationError({"duration_minutes": "Between 1 and 1440 minutes."})
    rule = {name: changes.pop(name) for name in RULE_CHANGE_FIELDS if name in changes}
    if rule and scope != FOLLOWING:
        raise ValidationError(
            {"scope": "A new rule (weekdays, end, skipped dates) applies to “following” only."}
        )
    return changes, start_time, duration, rule


@dataclass
class SeriesChangePlan:
    """What a scoped change would do, nothing written: the API's `dry_run` and the pages'
    confirmation. `changed` pairs each occurrence edited in place with its new state;
    `created` are new occurrences (unsaved), `cancelled` those a new rule leaves over."""

    scope: str
    changed: list[tuple[Session, Session]] = field(default_factory=list)
    created: list[Session] = field(default_factory=list)
    cancelled: list[Session] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    students_told: int = 0
    students_refunded: int = 0
    credits_refunded: int = 0
    rule: dict[str, Any] = field(default_factory=dict)

    @property
    def moved(self) -> list[tuple[Session, Session]]:
        return [
            (now, then)
            for now, then in self.changed
            if (now.date_start, now.date_end) != (then.date_start, then.date_end)
        ]

    def as_dict(self) -> dict[str, Any]:
        return {
            "scope": self.scope,
            "changed": [now.pk for now, _ in self.changed],
            "moved": [
                {"id": now.pk, "date_start": then.date_start, "date_end": then.date_end}
                for now, then in self.moved
            ],
            "created": [
                {"date_start": new.date_start, "date_end": new.date_end} for new in self.created
            ],
            "cancelled": [session.pk for session in self.cancelled],
            "problems": [problem.as_dict() for problem in self.problems],
            "students_told": self.students_told,
            "students_refunded": self.students_refunded,
            "credits_refunded": self.credits_refunded,
        }


def _students_told(sessions: list[Session]) -> int:
    """Everyone booked or waitlisted on these sessions, each once (one query)."""
    if not sessions:
        return 0
    return (
        Booking.objects.live()
        .filter(session__in=[s.pk for s in sessions])
        .values("student_id")
        .distinct()
        .count()
    )


def _refunds(sessions: list[Session]) -> tuple[int, int]:
    """The students a cancellation of these sessions refunds, and the credits (one query):
    every confirmed booking gets its charge back, as `cancel_session` does."""
    if not sessions:
        return 0, 0
    paid = Q(status=Booking.Status.CONFIRMED, credits_charged__gt=0)
    figures = Booking.objects.filter(paid, session__in=[s.pk for s in sessions]).aggregate(
        students=Count("student_id", distinct=True), credits=Sum("credits_charged")
    )
    return figures["students"], figures["credits"] or 0


def _problems_of(planned: list[Session], *, ignore: list[int]) -> list[Problem]:
    """Every date's rule problems, then the conflicts among the valid ones (one query)."""
    problems: list[Problem] = []
    valid: list[Session] = []
    now = timezone.now()
    for session in planned:
        day = local_date(session)
        try:
            validate_session(session)
        except ValidationError as error:
            problems.append(Problem(day, INVALID, f"{day}: " + " ".join(error.messages)))
            continue
        if session.date_start <= now:
            problems.append(Problem(day, INVALID, f"{day}: this time has already passed."))
            continue
        valid.append(session)
    problems += [
        Problem(
            date=local_date(conflict.session),
            code=conflict.code,
            detail=f"{local_date(conflict.session)}: {conflict.message}",
            conflicts=conflict.describe(),
        )
        for conflict in find_conflicts(valid, ignore=ignore)
    ]
    return sorted(problems, key=lambda p: p.date)


def _edited_copy(session: Session, changes: dict[str, Any], times: dict[str, Any]) -> Session:
    planned = copy.copy(session)
    for name, value in {**changes, **times}.items():
        setattr(planned, name, value)
    return planned


def series_update_plan(
    *,
    series: SessionSeries,
    by: User,
    scope: str,
    occurrence: Session | None = None,
    **changes: Any,
) -> SeriesChangePlan:
    """The dry run of `series_update`: what would change, move, be created or cancelled,
    how many students would be told and refunded, and every problem by date."""
    _check(by, series, scope, occurrence)
    changes, start_time, duration, rule = _sorted_changes(scope, changes)
    targets = list(occurrences_in_scope(series, scope, occurrence))
    if rule:
        return _reschedule_plan(series, occurrence, targets, changes, start_time, duration, rule)
    plan = SeriesChangePlan(scope=scope)
    invalid: list[Problem] = []
    for target in targets:
        try:
            times = _moved(target, start_time, duration)
        except WallClockError as error:
            invalid.append(Problem(local_date(target), INVALID, str(error)))
            continue
        plan.changed.append((target, _edited_copy(target, changes, times)))
    plan.problems = sorted(
        invalid + _problems_of([then for _, then in plan.changed], ignore=[]),
        key=lambda p: p.date,
    )
    told = set(changes) & set(TOLD_CHANGES) or start_time is not None or duration is not None
    plan.students_told = _students_told(targets) if told else 0
    return plan


def series_cancel_plan(
    *, series: SessionSeries, by: User, scope: str, occurrence: Session | None = None
) -> SeriesChangePlan:
    """The dry run of `series_cancel`: the occurrences it would cancel, the students told
    and refunded and the credits given back."""
    _check(by, series, scope, occurrence)
    targets = list(occurrences_in_scope(series, scope, occurrence))
    refunded, credits = _refunds(targets)
    return SeriesChangePlan(
        scope=scope,
        cancelled=targets,
        students_told=_students_told(targets),
        students_refunded=refunded,
        credits_refunded=credits,
    )


def _rest_rule(
    series: SessionSeries,
    pivot: date,
    start_time: time | None,
    duration: int | None,
    rule: dict[str, Any],
) -> SessionSeries:
    """The rule from `pivot` on, unsaved: the series' own rule for the dates from there
    (the occurrences its count has left), with the given changes laid over it."""
    skipped = [date.fromisoformat(day) for day in series.skipped_dates]
    rest = SessionSeries(
        semester=series.semester,
        weekdays=series.weekdays,
        start_time=start_time or series.start_time,
        duration_minutes=duration or series.duration_minutes,
        first_date=pivot,
        until_date=series.until_date,
        count=None,
        skipped_dates=[day for day in skipped if day >= pivot],
        **template_values(series),
    )
    if series.count is not None:
        rest.count = max(series.count - _counted_before(series, pivot), 1)
    for name, value in rule.items():
        setattr(rest, name, value)
    # One end only: the one sent replaces the other.
    if rule.get("until_date") is not None and "count" not in rule:
        rest.count = None
    if rule.get("count") is not None and "until_date" not in rule:
        rest.until_date = None
    check_rule(rest)
    return rest


def _reschedule_plan(
    series: SessionSeries,
    occurrence: Session,
    targets: list[Session],
    changes: dict[str, Any],
    start_time: time | None,
    duration: int | None,
    rule: dict[str, Any],
) -> SeriesChangePlan:
    """Lay the new rule's dates over the following occurrences in order: the first ones
    move onto the new dates, extra dates get new occurrences, and occurrences left over
    are cancelled. Every planned date is checked as a new session would be."""
    if occurrence.has_started():
        raise ValidationError(
            {"occurrence": "This occurrence has started: choose a later one to change from."}
        )
    pivot = local_date(occurrence)
    rest = _rest_rule(series, pivot, start_time, duration, rule)
    for name, value in changes.items():
        setattr(rest, name, value)
    dates = occurrence_dates(
        weekdays=rest.weekdays,
        first_date=pivot,
        until_date=rest.until_date,
        count=rest.count,
        skipped_dates=set(rest.skipped_dates),
        limit=settings.SERIES_MAX_OCCURRENCES,
    )
    if not dates:
        raise ValidationError({"weekdays": f"The new rule gives no date from {pivot} on."})
    if len(dates) > settings.SERIES_MAX_OCCURRENCES:
        raise ValidationError(
            {"until_date": f"A series has at most {settings.SERIES_MAX_OCCURRENCES} occurrences."}
        )
    plan = SeriesChangePlan(scope=FOLLOWING, cancelled=targets[len(dates) :])
    invalid: list[Problem] = []
    for index, day in enumerate(dates):
        try:
            start = local_start(day, rest.start_time)
        except WallClockError as error:
            invalid.append(Problem(day, INVALID, str(error)))
            continue
        times = {"date_start": start, "date_end": start + timedelta(minutes=rest.duration_minutes)}
        if index < len(targets):
            plan.changed.append((targets[index], _edited_copy(targets[index], changes, times)))
        else:
            new = Session(semester=series.semester, series=series, **template_values(rest))
            plan.created.append(_edited_copy(new, {}, times))
    planned = [then for _, then in plan.changed] + plan.created
    plan.problems = sorted(
        invalid + _problems_of(planned, ignore=[s.pk for s in plan.cancelled]),
        key=lambda p: p.date,
    )
    if plan.created and not plan.problems:
        check_qualification(plan.created[0])  # 403 when the instructor may not teach it
    moved = [now for now, _ in plan.moved]
    plan.students_told = _students_told(moved + plan.cancelled)
    plan.students_refunded, plan.credits_refunded = _refunds(plan.cancelled)
    plan.rule = {
        "weekdays": rest.weekdays,
        "start_time": rest.start_time,
        "duration_minutes": rest.duration_minutes,
        "first_date": pivot,
        "until_date": rest.until_date,
        "count": rest.count,
        "skipped_dates": sorted(day.isoformat() for day in rest.skipped_dates),
    }
    return plan


def _in_a_safe_order(moves: list[tuple[Session, Session]]) -> list[tuple[Session, Session]]:
    """Moves in an order where no occurrence lands on one not yet moved away: those moving
    later from the last back, then those moving earlier from the first on. The final
    layout is checked beforehand; this keeps every step free of clashes within the series
    too, as the database's exclusion constraint checks each statement on PostgreSQL."""
    later = [pair for pair in moves if pair[1].date_start > pair[0].date_start]
    earlier = [pair for pair in moves if pair[1].date_start <= pair[0].date_start]
    return list(reversed(later)) + earlier


def _reschedule(
    series: SessionSeries,
    by: User,
    occurrence: Session,
    changes: dict[str, Any],
    start_time: time | None,
    duration: int | None,
    rule: dict[str, Any],
) -> SeriesChangeResult:
    """ "This and following" with a new rule, in one transaction: split the series at the
    occurrence (when earlier ones exist), move the following occurrences onto the new
    dates in order with `session_update` (bookings stay, students are told as for any
    time change), create the extra dates, cancel the left-over occurrences with
    `cancel_session` (refunds, promotions). One problem on any date refuses it all."""
    with service_transaction():
        targets = list(occurrences_in_scope(series, FOLLOWING, occurrence))
        _lock_sessions(target.pk for target in targets)
        plan = _reschedule_plan(series, occurrence, targets, changes, start_time, duration, rule)
        refuse(plan.problems)
        refunded = 0
        for left_over in plan.cancelled:
            try:
                refunded += cancel_session(session=left_over, by=by).credits_refunded
            except DomainError as error:
                raise _naming_the_date(error, left_over) from error
        planned = [then for _, then in plan.changed] + plan.created
        # Checked again under the conflict locks: another writer may have come in between.
        lock_conflict_guards(planned)
        refuse(_problems_of(planned, ignore=[s.pk for s in plan.cancelled]))
        # Before the edits below set the new values on these very instances.
        moved = [now.pk for now, _ in plan.moved]
        edited = series
        if series.occurrences.filter(date_start__lt=occurrence.date_start).exists():
            edited = _split(series, occurrence)
        for now, then in _in_a_safe_order(plan.changed):
            fields = {**changes, "date_start": then.date_start, "date_end": then.date_end}
            try:
                session_update(session=now, by=by, **fields)
            except (DomainError, ValidationError) as error:
                raise _naming_the_date(error, now) from error
        for new in plan.created:
            new.series = edited
        created = Session.objects.bulk_create(plan.created)
        for name, value in {**changes, **plan.rule}.items():
            setattr(edited, name, value)
        edited.save()
        entries = [
            build(
                actor=by,
                verb=verbs.SERIES_UPDATED,
                target=series,
                scope=FOLLOWING,
                **({"split_into": edited.pk} if edited is not series else {}),
                sessions=[now.pk for now, _ in plan.changed],
                changes={name: getattr(value, "pk", value) for name, value in changes.items()},
                rule=plan.rule,
                moved=moved,
                created=[new.pk for new in created],
                cancelled=[left_over.pk for left_over in plan.cancelled],
                credits_refunded=refunded,
            )
        ]
        entries += occurrences_created(created, by=by)
        record_many(entries)
    return SeriesChangeResult(
        sessions=[now for now, _ in plan.changed] + created,
        credits_refunded=refunded,
        series=edited,
    )
