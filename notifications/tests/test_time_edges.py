"""Reminders at the edges of time: across a DST change, and a seat taken exactly
at the moment its reminder would fall due.

The lead (REMINDER_LEAD_HOURS) is elapsed time: 24 hours before a start the
morning after Budapest springs forward is 09:00 the day before on the wall
clock, not 10:00. Each test was run against a planted bug, which it failed, and
the plant was reverted:
- `due = timezone.localtime(session.date_start) - reminder_lead()` (wall-clock
  arithmetic) in `schedule_reminder`: the DST test fails;
- `if due < timezone.now()` for `<=`: the "booked exactly at the due time" case fails.
"""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.test import override_settings
from django.utils import timezone

from scheduling.tests.factories import SemesterFactory, SessionFactory

from .inbox import book
from .test_reminders import reminders

pytestmark = pytest.mark.django_db

BUDAPEST = ZoneInfo("Europe/Budapest")
DAY = timedelta(hours=24)


@pytest.fixture
def spring_semester():
    return SemesterFactory(start_date=date(2031, 3, 1), end_date=date(2031, 4, 30))


def test_the_reminder_lead_is_elapsed_time_across_a_dst_change(
    token_client, student, spring_semester, run_tasks, clock
):
    start = datetime(2031, 3, 30, 10, 0, tzinfo=BUDAPEST)  # the first morning of summer time
    session = SessionFactory(
        semester=spring_semester, date_start=start, date_end=start + timedelta(hours=1)
    )
    with override_settings(TIME_ZONE="Europe/Budapest"):
        assert timezone.get_current_timezone_name() == "Europe/Budapest"
        clock(datetime(2031, 3, 20, 12, 0, tzinfo=BUDAPEST))
        book(token_client, student(), session)
        run_tasks()

        [reminder] = reminders()
        # In UTC: Python subtracts on the wall clock between two times of one zone.
        assert reminder.run_after == start.astimezone(UTC) - DAY
        assert timezone.localtime(reminder.run_after) == datetime(
            2031, 3, 29, 9, 0, tzinfo=BUDAPEST
        )


@pytest.mark.parametrize(
    ("offset", "planned"),
    [
        pytest.param(-timedelta(microseconds=1), 1, id="a-microsecond-before-the-due-time"),
        pytest.param(timedelta(0), 0, id="exactly-at-the-due-time"),
    ],
)
def test_a_seat_taken_at_the_due_time_is_inside_the_reminder_window(
    token_client, student, spring_semester, run_tasks, clock, offset, planned
):
    start = datetime(2031, 3, 20, 10, 0, tzinfo=BUDAPEST)
    session = SessionFactory(
        semester=spring_semester, date_start=start, date_end=start + timedelta(hours=1)
    )
    clock(start - DAY + offset)
    book(token_client, student(), session)
    run_tasks()

    assert len(reminders()) == planned
