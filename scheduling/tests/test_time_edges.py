"""Scheduling rules at the edges of time: local midnights west and east of UTC, the
first and last day of a semester, a qualification's first and last day.

Each rule is driven through the API and a second surface (the instructor pages)
where the pages offer it. Every test below was run against a planted bug, which
it failed, and the plant was reverted:
- semester bounds on the UTC date (`timezone.localdate(self.date_start, UTC)` in
  Session.clean): the LA evening-before and Tokyo 00:00 cases fail on both surfaces;
  the same for `date_end`: the LA last-day and Tokyo 00:30-after cases fail;
- `valid_until__gte` -> `valid_until__gt` in `active_on`: the "ends today" tests fail;
- `valid_from__lte` -> `valid_from__lt` in `active_on`: the "starts today" tests fail;
- `semester__start_date__lte` -> `__lt` / `semester__end_date__gte` -> `__gt` in
  `visible_to`: the first-day / last-day catalogue test fails;
- `today = timezone.now().date()` in `visible_to`: the Los Angeles catalogue test fails;
- `active_on(timezone.now().date())` in scheduling.services: the LA qualification test fails;
"""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import InstructorFactory, StudentFactory
from scheduling.models import Session
from scheduling.tests.factories import (
    QualificationFactory,
    SemesterFactory,
    SessionFactory,
    SpecializationFactory,
)

pytestmark = pytest.mark.django_db

LIST = "/api/v1/sessions/"
FIRST_DAY, LAST_DAY = date(2031, 3, 3), date(2031, 6, 30)


@pytest.fixture
def semester():
    return SemesterFactory(start_date=FIRST_DAY, end_date=LAST_DAY)


def at(day: date, hour: int, minute: int, zone: str) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=ZoneInfo(zone))


def api_payload(semester, start: datetime, end: datetime) -> dict:
    # Sent in UTC on purpose: the server must take the local date itself, whatever
    # offset the client happened to write.
    return {
        "title": "Edge clinic",
        "semester": semester.pk,
        "instructor": semester.master_instructor.pk,
        "session_type": "on_site",
        "date_start": start.astimezone(UTC).isoformat(),
        "date_end": end.astimezone(UTC).isoformat(),
    }


def page_payload(semester, start: datetime, end: datetime) -> dict:
    """The instructor form's datetime-local values: wall-clock times in TIME_ZONE."""
    zone = timezone.get_current_timezone()
    return {
        "semester": semester.pk,
        "title": "Edge clinic",
        "description": "",
        "session_type": "on_site",
        "date_start": start.astimezone(zone).strftime("%Y-%m-%dT%H:%M"),
        "date_end": end.astimezone(zone).strftime("%Y-%m-%dT%H:%M"),
        "capacity": "12",
        "credit_cost": "1",
        "location": "",
        "meeting_link": "",
        "target_specialization": "",
        "group": "",
    }


# (zone, start, end, accepted, field): the local midnights on either side of UTC.
BOUNDS = [
    pytest.param(
        "America/Los_Angeles",
        at(FIRST_DAY - timedelta(days=1), 23, 0, "America/Los_Angeles"),
        at(FIRST_DAY, 0, 30, "America/Los_Angeles"),
        False,
        "date_start",
        id="LA-23:00-the-evening-before-the-first-day",  # already March 3 in UTC
    ),
    pytest.param(
        "America/Los_Angeles",
        at(LAST_DAY, 22, 0, "America/Los_Angeles"),
        at(LAST_DAY, 23, 30, "America/Los_Angeles"),
        True,
        None,
        id="LA-22:00-23:30-on-the-last-day",  # July 1 in UTC
    ),
    pytest.param(
        "Asia/Tokyo",
        at(FIRST_DAY, 0, 0, "Asia/Tokyo"),
        at(FIRST_DAY, 1, 30, "Asia/Tokyo"),
        True,
        None,
        id="Tokyo-00:00-on-the-first-day",  # still March 2 in UTC
    ),
    pytest.param(
        "Asia/Tokyo",
        at(LAST_DAY, 23, 0, "Asia/Tokyo"),
        at(LAST_DAY + timedelta(days=1), 0, 30, "Asia/Tokyo"),
        False,
        "date_end",
        id="Tokyo-ending-00:30-the-day-after-the-last",  # still June 30 in UTC
    ),
]


@pytest.mark.parametrize(("zone", "start", "end", "accepted", "field"), BOUNDS)
def test_semester_bounds_on_the_local_date_through_the_api(
    token_client, semester, zone, start, end, accepted, field
):
    with override_settings(TIME_ZONE=zone):
        assert timezone.get_current_timezone_name() == zone
        response = token_client(semester.master_instructor).post(
            LIST, api_payload(semester, start, end)
        )

    if accepted:
        assert response.status_code == 201, response.json()
        assert Session.objects.get().date_start == start
    else:
        assert response.status_code == 400
        assert field in response.json()
        assert not Session.objects.exists()


@pytest.mark.parametrize(("zone", "start", "end", "accepted", "field"), BOUNDS)
def test_semester_bounds_on_the_local_date_through_the_instructor_page(
    client, semester, zone, start, end, accepted, field
):
    # The page reads typed times in the user's own zone: here the academy's.
    semester.master_instructor.time_zone = zone
    semester.master_instructor.save(update_fields=["time_zone"])
    client.force_login(semester.master_instructor)
    with override_settings(TIME_ZONE=zone):
        assert timezone.get_current_timezone_name() == zone
        response = client.post(
            reverse("instructor:session-create"), page_payload(semester, start, end)
        )

    if accepted:
        assert response.status_code == 302
        assert Session.objects.get().date_start == start
    else:
        assert response.status_code == 200
        assert field in response.context["form"].errors
        assert not Session.objects.exists()


@pytest.mark.parametrize(
    ("start", "end", "accepted"),
    [
        # 10:00 on the first day in Tokyo is still the day before in Los Angeles.
        pytest.param(
            at(FIRST_DAY, 10, 0, "Asia/Tokyo"),
            at(FIRST_DAY, 11, 0, "Asia/Tokyo"),
            False,
            id="Tokyo-first-day-is-LA-day-before",
        ),
        # Ending 01:00 the day after the last in Tokyo is still the last day in LA.
        pytest.param(
            at(LAST_DAY + timedelta(days=1), 0, 0, "Asia/Tokyo"),
            at(LAST_DAY + timedelta(days=1), 1, 0, "Asia/Tokyo"),
            True,
            id="Tokyo-day-after-is-LA-last-day",
        ),
    ],
)
def test_the_semester_days_are_the_academys_for_an_instructor_in_another_zone(
    client, semester, start, end, accepted
):
    """The academy is in Los Angeles, the instructor's page runs in Tokyo: the semester's
    first and last days are the academy's, whatever the instructor's page shows."""
    semester.master_instructor.time_zone = "Asia/Tokyo"
    semester.master_instructor.save(update_fields=["time_zone"])
    client.force_login(semester.master_instructor)
    with override_settings(TIME_ZONE="America/Los_Angeles"), timezone.override("Asia/Tokyo"):
        payload = page_payload(semester, start, end)
    with override_settings(TIME_ZONE="America/Los_Angeles"):
        response = client.post(reverse("instructor:session-create"), payload)

    assert response.status_code == (302 if accepted else 200)
    assert Session.objects.exists() == accepted


# --- A qualification's first and last day ------------------------------------------------


@pytest.mark.parametrize(
    ("from_days", "until_days"),
    [pytest.param(-30, 0, id="ends-today"), pytest.param(0, None, id="starts-today")],
)
def test_a_qualification_counts_on_its_first_and_last_day_through_the_api(
    token_client, from_days, until_days
):
    today = timezone.localdate()
    spec = SpecializationFactory(code="GK")
    semester = SemesterFactory()
    QualificationFactory(
        instructor=semester.master_instructor,
        specialization=spec,
        valid_from=today + timedelta(days=from_days),
        valid_until=None if until_days is None else today + timedelta(days=until_days),
    )
    start = (timezone.now() + timedelta(days=3)).replace(minute=0, second=0, microsecond=0)
    payload = {
        **api_payload(semester, start, start + timedelta(hours=1)),
        "target_specialization": "GK",
    }

    response = token_client(semester.master_instructor).post(LIST, payload)

    assert response.status_code == 201, response.json()
    assert response.json()["target_specialization"] == "GK"


@pytest.mark.parametrize(
    ("from_days", "until_days"),
    [pytest.param(-30, 0, id="ends-today"), pytest.param(0, None, id="starts-today")],
)
def test_a_qualification_counts_on_its_first_and_last_day_on_the_instructor_page(
    client, from_days, until_days
):
    today = timezone.localdate()
    master = InstructorFactory()
    SemesterFactory(master_instructor=master)
    held = QualificationFactory(
        instructor=master,
        valid_from=today + timedelta(days=from_days),
        valid_until=None if until_days is None else today + timedelta(days=until_days),
    ).specialization
    client.force_login(master)

    page = client.get(reverse("instructor:session-create"))

    assert list(page.context["form"].fields["target_specialization"].queryset) == [held]


def test_a_qualification_ending_today_in_los_angeles_counts_after_utc_midnight(token_client, clock):
    """23:30 on March 2 in Los Angeles is March 3 in UTC: the qualification ending
    March 2 is still valid there."""
    clock(at(date(2031, 3, 2), 23, 30, "America/Los_Angeles"))
    spec = SpecializationFactory(code="GK")
    semester = SemesterFactory(start_date=date(2031, 3, 1), end_date=LAST_DAY)
    QualificationFactory(
        instructor=semester.master_instructor,
        specialization=spec,
        valid_from=date(2031, 1, 1),
        valid_until=date(2031, 3, 2),
    )
    start = at(date(2031, 3, 5), 10, 0, "America/Los_Angeles")
    payload = {
        **api_payload(semester, start, start + timedelta(hours=1)),
        "target_specialization": "GK",
    }

    with override_settings(TIME_ZONE="America/Los_Angeles"):
        assert timezone.localdate() == date(2031, 3, 2)
        response = token_client(semester.master_instructor).post(LIST, payload)

    assert response.status_code == 201, response.json()


# --- The student catalogue on a semester's first and last day -------------------------------


def _catalogue_ids(token_client, student) -> set[int]:
    response = token_client(student).get(LIST)
    assert response.status_code == 200
    return {row["id"] for row in response.json()["results"]}


def test_the_catalogue_shows_a_semester_on_its_first_and_last_day(token_client, clock):
    today = date(2031, 3, 3)
    clock(at(today, 12, 0, "UTC"))
    evening = at(today, 18, 0, "UTC")

    def offered(start_date: date, end_date: date) -> Session:
        semester = SemesterFactory(start_date=start_date, end_date=end_date)
        return SessionFactory(
            semester=semester, date_start=evening, date_end=evening + timedelta(hours=1)
        )

    first_day = offered(today, today + timedelta(days=90))
    last_day = offered(today - timedelta(days=90), today)
    offered(today + timedelta(days=1), today + timedelta(days=90))  # not begun
    offered(today - timedelta(days=90), today - timedelta(days=1))  # over

    assert _catalogue_ids(token_client, StudentFactory()) == {first_day.pk, last_day.pk}


def test_the_catalogue_turns_over_at_local_midnight_west_of_utc(token_client, clock):
    """At 23:30 on March 2 in Los Angeles (07:30 on March 3 in UTC) the semester
    ending March 2 is still on offer and the one starting March 3 not yet."""
    clock(at(date(2031, 3, 2), 23, 30, "America/Los_Angeles"))
    later = at(date(2031, 3, 4), 10, 0, "UTC")
    ending = SessionFactory(
        semester=SemesterFactory(start_date=date(2031, 1, 1), end_date=date(2031, 3, 2)),
        date_start=later,
        date_end=later + timedelta(hours=1),
    )
    SessionFactory(
        semester=SemesterFactory(start_date=date(2031, 3, 3), end_date=LAST_DAY),
        date_start=later,
        date_end=later + timedelta(hours=1),
    )
    student = StudentFactory()

    with override_settings(TIME_ZONE="America/Los_Angeles"):
        assert timezone.get_current_timezone_name() == "America/Los_Angeles"
        assert _catalogue_ids(token_client, student) == {ending.pk}


def test_the_schedule_page_keeps_the_academys_date_in_the_students_own_zone(client, clock):
    """The student page shows times in the student's zone, but the catalogue's days are
    the academy's: at 23:30 on March 2 in UTC it is already March 3 on Kiritimati, and
    the semester ending March 2 is still the one on offer."""
    clock(at(date(2031, 3, 2), 23, 30, "UTC"))
    later = at(date(2031, 3, 4), 10, 0, "UTC")
    ending, starting = (
        SessionFactory(
            semester=SemesterFactory(start_date=start_date, end_date=end_date),
            date_start=later,
            date_end=later + timedelta(hours=1),
        )
        for start_date, end_date in [
            (date(2031, 1, 1), date(2031, 3, 2)),
            (date(2031, 3, 3), LAST_DAY),
        ]
    )
    client.force_login(StudentFactory(time_zone="Pacific/Kiritimati"))

    with override_settings(TIME_ZONE="UTC"):
        page = client.get(reverse("student:schedule")).content.decode()

    assert reverse("student:session", args=[ending.pk]) in page
    assert reverse("student:session", args=[starting.pk]) not in page


def test_a_qualification_ends_on_the_academys_day_for_an_instructor_in_another_zone(client, clock):
    """The academy is in Los Angeles, where it is still March 2; the instructor's page
    runs in Tokyo, where it is already March 3. The qualification ending March 2 still
    counts: its last day is the academy's."""
    clock(at(date(2031, 3, 2), 23, 30, "America/Los_Angeles"))
    spec = SpecializationFactory(code="GK")
    semester = SemesterFactory(start_date=date(2031, 3, 1), end_date=LAST_DAY)
    master = semester.master_instructor
    master.time_zone = "Asia/Tokyo"
    master.save(update_fields=["time_zone"])
    QualificationFactory(
        instructor=master,
        specialization=spec,
        valid_from=date(2031, 1, 1),
        valid_until=date(2031, 3, 2),
    )
    start = at(date(2031, 3, 5), 10, 0, "Asia/Tokyo")
    client.force_login(master)
    with override_settings(TIME_ZONE="America/Los_Angeles"), timezone.override("Asia/Tokyo"):
        payload = {
            **page_payload(semester, start, start + timedelta(hours=1)),
            "target_specialization": spec.pk,
        }
    with override_settings(TIME_ZONE="America/Los_Angeles"):
        response = client.post(reverse("instructor:session-create"), payload)

    assert response.status_code == 302, response.context["form"].errors
    assert Session.objects.get().target_specialization == spec
