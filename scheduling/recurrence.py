"""A series' rule turned into dates and wall-clock times in `settings.TIME_ZONE`.

A Tuesday 18:00 class is 18:00 local on both sides of a daylight-saving change, so
each occurrence is built from its local date and the local start time, never by
adding weeks to a UTC instant. A local time that does not exist on a change day
(the spring gap) or exists twice (the autumn fold) is refused, naming the date.
"""

from datetime import UTC, date, datetime, time, timedelta

from django.utils import timezone


class WallClockError(ValueError):
    """The local start time does not exist, or exists twice, on that date."""


def local_start(day: date, at: time) -> datetime:
    """The instant of `at` on `day` in the academy's zone (`WallClockError` if none or
    two), in UTC: Python adds to and compares datetimes of one zone by their wall
    clocks, so a duration added to a local time would lose or gain the change's hour."""
    zone = timezone.get_default_timezone()
    naive = datetime.combine(day, at)
    first, second = naive.replace(tzinfo=zone, fold=0), naive.replace(tzinfo=zone, fold=1)
    if first.utcoffset() == second.utcoffset():
        return first.astimezone(UTC)
    if first.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != naive:
        raise WallClockError(
            f"{day}: {at:%H:%M} does not exist in {zone} that day (the clocks skip it)."
        )
    raise WallClockError(
        f"{day}: {at:%H:%M} happens twice in {zone} that day (the clocks go back); "
        "choose another time."
    )


def occurrence_dates(
    *,
    weekdays: list[int],
    first_date: date,
    until_date: date | None,
    count: int | None,
    skipped_dates: set[date],
    limit: int,
) -> list[date]:
    """Every date from `first_date` on an ISO weekday in `weekdays`, not skipped, until
    `until_date` (inclusive) or `count` dates. At most `limit + 1` dates are produced,
    so that a caller can tell "too many" without walking an endless rule."""
    days = set(weekdays)
    dates: list[date] = []
    day = first_date
    while len(dates) <= limit:
        if until_date is not None and day > until_date:
            break
        if count is not None and len(dates) >= count:
            break
        if day.isoweekday() in days and day not in skipped_dates:
            dates.append(day)
        day += timedelta(days=1)
    return dates
