"""Recurring sessions: planning and creating a `SessionSeries` with its occurrences.

Every occurrence is validated by the rules of a single session (`validate_session`,
`check_qualification`, the conflicts of scheduling/conflicts.py, including conflicts
among the series' own occurrences); one problem refuses the whole series, listing
every failing date with its reason. Changes that move seats (edits and cancellations
with a scope) live in bookings/series.py.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Prefetch, Q
from django.utils import timezone

from accounts.models import User
from activity import verbs
from activity.models import Activity
from activity.services import build, record_many
from config.atomic import service_transaction
from config.errors import Conflict, DomainError, PermissionDenied

from .access import check_can_manage
from .conflicts import find_conflicts, lock_conflict_guards
from .errors import INSTRUCTOR_BUSY, LOCATION_BUSY
from .models import Semester, Session, SessionSeries
from .recurrence import WallClockError, local_start, occurrence_dates
from .services import COPIED_FIELDS, check_qualification, validate_session

# What each occurrence copies from its series: what a duplicate copies.
TEMPLATE_FIELDS = COPIED_FIELDS
RULE_FIELDS = (
    "weekdays",
    "start_time",
    "duration_minutes",
    "first_date",
    "until_date",
    "count",
    "skipped_dates",
)
SERIES_FIELDS = TEMPLATE_FIELDS + RULE_FIELDS
# A day at most: a longer "session" is a mistake in the duration's unit.
MAX_DURATION_MINUTES = 24 * 60
INVALID = "invalid"


@dataclass(frozen=True)
class Problem:
    """Why one date of a series cannot be scheduled: `code` is `invalid`,
    `instructor_busy` or `location_busy`."""

    date: date
    code: str
    detail: str
    conflicts: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "date": self.date.isoformat(),
            "code": self.code,
            "detail": self.detail,
            "conflicts": self.conflicts,
        }


@dataclass
class SeriesPlan:
    series: SessionSeries
    occurrences: list[Session]
    problems: list[Problem]


def template_values(series: SessionSeries) -> dict[str, Any]:
    return {name: getattr(series, name) for name in TEMPLATE_FIELDS}


def check_rule(series: SessionSeries) -> None:
    """The rule's own fields (400 naming the field); dates are checked per occurrence."""
    errors: dict[str, str] = {}
    weekdays = series.weekdays
    if (
        not isinstance(weekdays, list)
        or not weekdays
        or not all(isinstance(day, int) and 1 <= day <= 7 for day in weekdays)
        or len(set(weekdays)) != len(weekdays)
    ):
        errors["weekdays"] = "One or more distinct ISO weekdays, 1 (Monday) to 7 (Sunday)."
    if not isinstance(series.skipped_dates, list) or not all(
        isinstance(day, date) for day in series.skipped_dates
    ):
        errors["skipped_dates"] = "A list of dates."
    if (series.until_date is None) == (series.count is None):
        errors["until_date"] = "Give either an end date or a number of occurrences, not both."
    if series.count is not None and not 1 <= series.count <= settings.SERIES_MAX_OCCURRENCES:
        errors["count"] = f"Between 1 and {settings.SERIES_MAX_OCCURRENCES} occurrences."
    if series.until_date and series.first_date and series.until_date < series.first_date:
        errors["until_date"] = "The series cannot end before its first date."
    if not 1 <= (series.duration_minutes or 0) <= MAX_DURATION_MINUTES:
        errors["duration_minutes"] = f"Between 1 and {MAX_DURATION_MINUTES} minutes."
    if errors:
        raise ValidationError(errors)


def _occurrence(series: SessionSeries, day: date) -> Session:
    start = local_start(day, series.start_time)
    return Session(
        semester=series.semester,
        series=series,
        date_start=start,
        date_end=start + timedelta(minutes=series.duration_minutes),
        **template_values(series),
    )


def conflict_problems(occurrences: list[Session]) -> list[Problem]:
    return [
        Problem(
            date=local_date(conflict.session),
            code=conflict.code,
            detail=conflict.message,
            conflicts=conflict.describe(),
        )
        for conflict in find_conflicts(occurrences)
    ]


def local_date(session: Session) -> date:
    return timezone.localdate(session.date_start)


def _build(*, by: User, semester: Semester, fields: dict[str, Any]) -> SeriesPlan:
    """The series and its occurrences, unsaved, with every problem but conflicts."""
    check_can_manage(by, semester)
    unknown = set(fields) - set(SERIES_FIELDS)
    if unknown:
        raise TypeError(f"Unknown series fields: {sorted(unknown)}")
    fields.setdefault("skipped_dates", [])
    series = SessionSeries(semester=semester, created_by=by, **fields)
    check_rule(series)
    skipped = set(series.skipped_dates)
    # Stored as ISO strings: JSON has no date type.
    series.skipped_dates = sorted(day.isoformat() for day in skipped)
    if not series.location and series.session_type != Session.SessionType.VIRTUAL:
        series.location = semester.location
    dates = occurrence_dates(
        weekdays=series.weekdays,
        first_date=series.first_date,
        until_date=series.until_date,
        count=series.count,
        skipped_dates=skipped,
        limit=settings.SERIES_MAX_OCCURRENCES,
    )
    if not dates:
        raise ValidationError({"weekdays": "The rule gives no date at all."})
    if len(dates) > settings.SERIES_MAX_OCCURRENCES:
        raise ValidationError(
            {"until_date": f"A series has at most {settings.SERIES_MAX_OCCURRENCES} occurrences."}
        )
    occurrences: list[Session] = []
    problems: list[Problem] = []
    for day in dates:
        try:
            session = _occurrence(series, day)
            validate_session(session)
        except WallClockError as error:
            problems.append(Problem(day, INVALID, str(error)))
            continue
        except ValidationError as error:
            problems.append(Problem(day, INVALID, f"{day}: " + " ".join(error.messages)))
            continue
        occurrences.append(session)
    # The template's rules that do not depend on the date, once for all (403).
    check_qualification(_template_session(series))
    return SeriesPlan(series=series, occurrences=occurrences, problems=problems)


def _template_session(series: SessionSeries) -> Session:
    return Session(semester=series.semester, **template_values(series))


def series_plan(*, by: User, semester: Semester, **fields: Any) -> SeriesPlan:
    """The preview (`dry_run`): the occurrences and every problem, nothing written."""
    plan = _build(by=by, semester=semester, fields=fields)
    plan.problems = sorted(
        plan.problems + conflict_problems(plan.occurrences), key=lambda p: p.date
    )
    return plan


def refuse(problems: list[Problem]) -> None:
    """One problem refuses the whole series: 400 listing every date when any date breaks
    a session rule, else 409 with the conflicts' code and every conflicting date."""
    if not problems:
        return
    problems = sorted(problems, key=lambda p: p.date)
    if any(problem.code == INVALID for problem in problems):
        raise ValidationError({"occurrences": [problem.detail for problem in problems]})
    code = INSTRUCTOR_BUSY if any(p.code == INSTRUCTOR_BUSY for p in problems) else LOCATION_BUSY
    dates = ", ".join(problem.date.isoformat() for problem in problems)
    raise Conflict(
        f"The series conflicts with other sessions on {dates}.",
        code=code,
        problems=[problem.as_dict() for problem in problems],
    )


def series_create(*, by: User, semester: Semester, **fields: Any) -> SessionSeries:
    """Create the series and all its occurrences in one transaction, or nothing.

    Statements: the conflict locks and one conflict query for all occurrences, one
    INSERT of the series, one bulk INSERT of the occurrences, one INSERT of the
    activities: a bounded number, whatever the number of occurrences.
    """
    plan = _build(by=by, semester=semester, fields=fields)
    refuse(plan.problems)
    return _save_plans(by, [plan])[0]


def _save_plans(by: User, plans: list[SeriesPlan], **data: Any) -> list[SessionSeries]:
    """Save checked plans in one transaction: the conflicts of all their occurrences are
    checked together under the locks; one INSERT per series, one bulk INSERT of every
    occurrence, one INSERT of the activities. `data` is added to each series.created."""
    everything = [session for plan in plans for session in plan.occurrences]
    with service_transaction():
        lock_conflict_guards(everything)
        refuse(conflict_problems(everything))
        for plan in plans:
            plan.series.save()
            for session in plan.occurrences:
                session.series = plan.series
        created = Session.objects.bulk_create(everything)
        entries = []
        for plan in plans:
            series, occurrences = plan.series, plan.occurrences
            entries.append(
                build(
                    actor=by,
                    verb=verbs.SERIES_CREATED,
                    target=series,
                    title=series.title,
                    occurrences=len(occurrences),
                    first=occurrences[0].date_start,
                    last=occurrences[-1].date_start,
                    **data,
                )
            )
        entries += occurrences_created(created, by=by)
        record_many(entries)
    return [plan.series for plan in plans]


def occurrences_created(created: list[Session], *, by: User) -> list[Activity]:
    """The `session.created` activities of occurrences written in bulk, for the caller's
    `record_many` (one INSERT with its other activities)."""
    return [
        build(
            actor=by,
            verb=verbs.SESSION_CREATED,
            target=session,
            session_id=session.pk,
            title=session.title,
            date_start=session.date_start,
            series_id=session.series_id,
        )
        for session in created
    ]


def rule_times(date_start: datetime, date_end: datetime) -> dict[str, Any]:
    """A single session's start and end as a series rule's first date, local start time
    and duration (the wall clock of `settings.TIME_ZONE`), for forms that offer "Repeat"."""
    local = timezone.localtime(date_start, timezone.get_default_timezone())
    minutes = int((date_end - date_start).total_seconds() // 60)
    return {
        "first_date": local.date(),
        "start_time": local.time().replace(second=0, microsecond=0),
        "duration_minutes": minutes,
    }


# How far a semester's series may be shifted: ten years either way.
MAX_SHIFT_WEEKS = 520


@dataclass
class SemesterCopyPlan:
    """The series a semester copy would create, and every problem, dated and named."""

    source: Semester
    target: Semester
    weeks: int
    plans: list[SeriesPlan]
    problems: list[Problem]


def _shifted_group(series: SessionSeries, groups: dict[str, Any]) -> Any:
    """A group belongs to one semester: the copy takes the target's group of the same
    name (`groups`, the target's by name), or none (open to everyone eligible)."""
    if series.group_id is None:
        return None
    return groups.get(series.group.name)


def semester_copy_plan(
    *, by: User, source: Semester, target: Semester, weeks: int
) -> SemesterCopyPlan:
    """The preview of copying every series of `source` into `target`, each rule's dates
    shifted by `weeks` whole weeks (so weekdays and wall-clock times stay): nothing is
    written. Each occurrence is checked as a single session (the target's dates, the
    conflicts with stored sessions and among all the copies)."""
    if not by.is_staff:
        raise PermissionDenied("Only staff may copy a semester's series.")
    if not isinstance(weeks, int) or not -MAX_SHIFT_WEEKS <= weeks <= MAX_SHIFT_WEEKS:
        raise ValidationError(
            {"weeks": f"Whole weeks, from {-MAX_SHIFT_WEEKS} to {MAX_SHIFT_WEEKS}."}
        )
    originals = list(
        SessionSeries.objects.filter(semester=source)
        .select_related("group", "instructor", "target_specialization")
        .order_by("first_date", "pk")
    )
    if not originals:
        raise ValidationError({"source": f"Semester {source.code} has no series to copy."})
    groups = {group.name: group for group in target.groups.all()}
    shift = timedelta(weeks=weeks)
    plans: list[SeriesPlan] = []
    problems: list[Problem] = []
    for original in originals:
        fields = {name: getattr(original, name) for name in SERIES_FIELDS}
        fields["group"] = _shifted_group(original, groups)
        fields["first_date"] = original.first_date + shift
        if original.until_date is not None:
            fields["until_date"] = original.until_date + shift
        fields["skipped_dates"] = [
            date.fromisoformat(day) + shift for day in original.skipped_dates
        ]
        try:
            plan = _build(by=by, semester=target, fields=fields)
        except ValidationError as error:
            reason = " ".join(error.messages)
            problems.append(Problem(fields["first_date"], INVALID, f"{original.title}: {reason}"))
            continue
        except DomainError as error:  # the instructor's qualification, for instance
            problems.append(
                Problem(fields["first_date"], INVALID, f"{original.title}: {error.message}")
            )
            continue
        problems += [
            Problem(p.date, p.code, f"{original.title}: {p.detail}", p.conflicts)
            for p in plan.problems
        ]
        plans.append(plan)
    everything = [session for plan in plans for session in plan.occurrences]
    problems += [
        Problem(
            date=local_date(conflict.session),
            code=conflict.code,
            detail=f"{conflict.session.title}, {local_date(conflict.session)}: {conflict.message}",
            conflicts=conflict.describe(),
        )
        for conflict in find_conflicts(everything)
    ]
    return SemesterCopyPlan(
        source=source,
        target=target,
        weeks=weeks,
        plans=plans,
        problems=sorted(problems, key=lambda p: p.date),
    )


def semester_copy(
    *, by: User, source: Semester, target: Semester, weeks: int
) -> list[SessionSeries]:
    """Copy every series of `source` into `target` shifted by `weeks`, all or nothing:
    one problem on any date of any series refuses the whole copy, naming each date."""
    plan = semester_copy_plan(by=by, source=source, target=target, weeks=weeks)
    refuse(plan.problems)
    return _save_plans(by, plan.plans, copied_from=source.pk, weeks=weeks)


def series_with_occurrences() -> Any:
    """Series with their target specialization (`SeriesSerializer` names it by code) and
    occurrences in date order: two queries a page."""
    return SessionSeries.objects.select_related("target_specialization").prefetch_related(
        Prefetch("occurrences", queryset=Session.objects.order_by("date_start", "pk"))
    )


def series_taught_or_managed_by(user: User) -> Any:
    """The series a user may open: staff all; the semester's master instructor and
    whoever teaches the series or one of its occurrences theirs (the list form of
    `scheduling.access.teaches_or_manages` for series)."""
    series = SessionSeries.objects.select_related("semester")
    if user.is_staff:
        return series
    taught = Session.objects.filter(instructor=user, series_id__isnull=False).values("series_id")
    return series.filter(
        Q(semester__master_instructor=user) | Q(instructor=user) | Q(pk__in=taught)
    )
