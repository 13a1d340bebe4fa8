"""The series the series tests start from, their occurrences, the semesters they are
copied between, and moving an occurrence into the past."""

from datetime import date, time, timedelta

from django.utils import timezone

from accounts.models import User
from scheduling.models import Semester, Session, SessionSeries
from scheduling.series import series_create
from scheduling.tests.factories import SemesterFactory


def weekly(semester: Semester, by: User, **fields) -> SessionSeries:
    """Monday and Wednesday occurrences from tomorrow, 18:00 local: six unless `count`."""
    return series_create(
        **{
            "by": by,
            "semester": semester,
            "title": "Footwork",
            "instructor": semester.master_instructor,
            "weekdays": [1, 3],
            "start_time": time(18, 0),
            "duration_minutes": 60,
            "first_date": timezone.localdate() + timedelta(days=1),
            "count": 6,
            "capacity": 5,
            "credit_cost": 2,
            **fields,
        }
    )


def started(session: Session, days_ago: int) -> Session:
    """Move an occurrence into the past, as time would (no service moves sessions back)."""
    start = timezone.now() - timedelta(days=days_ago)
    Session.objects.filter(pk=session.pk).update(
        date_start=start, date_end=start + timedelta(hours=1)
    )
    session.refresh_from_db()
    return session


def occurrences_of(series: SessionSeries) -> list[Session]:
    """A series' occurrences in date order."""
    return list(series.occurrences.order_by("date_start"))


def term(start: date, weeks: int = 6, **fields) -> Semester:
    """A semester of `weeks` whole weeks from `start`."""
    return SemesterFactory(
        start_date=start, end_date=start + timedelta(weeks=weeks, days=-1), **fields
    )
