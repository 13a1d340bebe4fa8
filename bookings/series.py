"""Changes to a series' occurrences with a scope: `this` one, it and the `following`
ones, or `all` remaining. They move seats, so they live beside the session edits and
cancellations they are made of (`session_update`, `cancel_session`): each occurrence
is changed exactly as a single session would be, with its refunds and promotions,
and the whole scope in one transaction. Occurrences that have started are never
touched; occurrences with bookings are moved in place, so their bookings survive.
"""

from dataclasses import dataclass
from datetime import date, time, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import User
from activity import verbs
from activity.services import record
from config.atomic import service_transaction
from config.errors import DomainError, PermissionDenied
from scheduling.access import can_manage_semester
from scheduling.models import Session, SessionSeries
from scheduling.recurrence import WallClockError, local_start, occurrence_dates
from scheduling.series import TEMPLATE_FIELDS

from .services import _lock_sessions, cancel_session, session_update

THIS, FOLLOWING, ALL = "this", "following", "all"
SCOPES = (THIS, FOLLOWING, ALL)
# What a scoped edit may change: the template's fields (the instructor too) and the
# time of day and length; dates stay on their days.
TIME_FIELDS = ("start_time", "duration_minutes")


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
    unknown = set(changes) - set(TEMPLATE_FIELDS) - set(TIME_FIELDS)
    if unknown:
        raise ValidationError(
            {name: "This field cannot be changed on a series." for name in unknown}
        )
    start_time = changes.pop("start_time", None)
    duration = changes.pop("duration_minutes", None)
    if duration is not None and not 1 <= duration <= 24 * 60:
        raise ValidationError({"duration_minutes": "Between 1 and 1440 minutes."})
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
    rule_dates = occurrence_dates(
        weekdays=series.weekdays,
        first_date=series.first_date,
        until_date=series.until_date,
        count=series.count,
        skipped_dates={date.fromisoformat(day) for day in series.skipped_dates},
        limit=settings.SERIES_MAX_OCCURRENCES,
    )
    earlier = sum(1 for day in rule_dates if day < pivot)
    later = SessionSeries.objects.get(pk=series.pk)
    later.pk = None
    later.split_from = series
    later.first_date = pivot
    later.skipped_dates = [day for day in series.skipped_dates if day >= pivot.isoformat()]
    if series.count is not None:
        later.count = max(series.count - earlier, 1)
        series.count = max(earlier, 1)
    else:
        series.until_date = pivot - timedelta(days=1)
    series.skipped_dates = [day for day in series.skipped_dates if day < pivot.isoformat()]
    later.save()
    series.save(update_fields=["count", "until_date", "skipped_dates", "updated_at"])
    series.occurrences.filter(date_start__gte=occurrence.date_start).update(series=later)
    return later


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
