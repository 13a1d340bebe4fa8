"""Copying a semester's series into another, shifted by whole weeks: who may, the bounds
of the shift, each refusal's words, every problem dated and named (a series whose rule
no longer holds, an instructor no longer qualified, a conflict), the order of the
copies, what the copy records and the statements it costs. Through
`/api/v1/semesters/<id>/copy-series/`; the service directly only for what the API's
own checks never let through."""

from datetime import date, datetime, time

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from accounts.tests.factories import StaffFactory
from activity.models import Activity
from config.errors import PermissionDenied
from scheduling.models import InstructorQualification, SessionSeries
from scheduling.series import semester_copy_plan, series_create
from scheduling.tests.factories import (
    GroupFactory,
    QualificationFactory,
    SessionFactory,
    SpecializationFactory,
)
from scheduling.tests.series_world import term

pytestmark = pytest.mark.django_db

TUESDAY, THURSDAY = 2, 4
# Autumn 2027 (from Monday 4 October) into spring 2028 (from Monday 21 February): 20 weeks.
AUTUMN, SPRING, WEEKS = date(2027, 10, 4), date(2028, 2, 21), 20


def weekly(
    semester, title: str, first_date: date, count: int = 2, hour: int = 18, **fields
) -> SessionSeries:
    """`count` Tuesdays at `hour` from `first_date`, taught by the semester's master."""
    return series_create(
        by=StaffFactory(),
        semester=semester,
        title=title,
        instructor=semester.master_instructor,
        weekdays=[TUESDAY],
        start_time=time(hour, 0),
        duration_minutes=60,
        first_date=first_date,
        count=count,
        **fields,
    )


def url(source) -> str:
    return f"/api/v1/semesters/{source.pk}/copy-series/"


def at(day: date, hour: int) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour, 0)))


# --- Who may copy, and by how much -------------------------------------------------------


def test_only_staff_may_copy_a_semesters_series():
    """The API and the admin let only staff in: the service says the same to any caller."""
    source, target = term(AUTUMN), term(SPRING)
    weekly(source, "Footwork", date(2027, 10, 5))

    with pytest.raises(PermissionDenied) as refused:
        semester_copy_plan(by=source.master_instructor, source=source, target=target, weeks=20)

    assert refused.value.message == "Only staff may copy a semester's series."


@pytest.mark.parametrize("weeks", [521, -521, "20"])
def test_a_shift_no_form_can_send_is_refused_by_the_service_naming_weeks(weeks):
    """The API's and the admin's fields bound the weeks already; other callers meet the
    same rule."""
    source, target = term(AUTUMN), term(SPRING)
    weekly(source, "Footwork", date(2027, 10, 5))

    with pytest.raises(ValidationError) as refused:
        semester_copy_plan(by=StaffFactory(), source=source, target=target, weeks=weeks)

    assert refused.value.message_dict == {"weeks": ["Whole weeks, from -520 to 520."]}


@pytest.mark.parametrize("weeks", [520, -520])
def test_ten_years_either_way_is_a_shift_the_rule_accepts(token_client, weeks):
    """Ten years away every date is outside the target: refused for that, not the shift."""
    source, target = term(AUTUMN), term(SPRING)
    weekly(source, "Footwork", date(2027, 10, 5))
    body = {"target_semester": target.pk, "weeks": weeks, "dry_run": True}

    response = token_client(StaffFactory()).post(url(source), body, format="json")

    assert response.status_code == 200
    problems = response.json()["problems"]
    assert [(p["code"], "within semester" in p["detail"]) for p in problems] == [
        ("invalid", True)
    ] * 2


def test_a_semester_without_series_has_nothing_to_copy(token_client):
    source, target = term(AUTUMN, code="AUT27"), term(SPRING)
    body = {"target_semester": target.pk, "weeks": WEEKS, "dry_run": True}

    response = token_client(StaffFactory()).post(url(source), body, format="json")

    assert (response.status_code, response.json()) == (
        400,
        {"source": ["Semester AUT27 has no series to copy."]},
    )


# --- Every problem dated and named, and the other series still planned --------------------


def test_a_series_whose_rule_no_longer_holds_is_named_and_the_others_still_planned(
    token_client, settings
):
    """The limit was lowered since "Old rule" was made, and its weekdays were stored
    twice over: both reasons are named at its shifted first date. "Footwork", after it,
    is still planned."""
    source, target = term(AUTUMN), term(SPRING)
    old = weekly(source, "Old rule", date(2027, 10, 5), count=3)
    SessionSeries.objects.filter(pk=old.pk).update(weekdays=[TUESDAY, TUESDAY])
    weekly(source, "Footwork", date(2027, 10, 12), hour=20)
    settings.SERIES_MAX_OCCURRENCES = 2
    body = {"target_semester": target.pk, "weeks": WEEKS, "dry_run": True}

    response = token_client(StaffFactory()).post(url(source), body, format="json")

    assert response.status_code == 200
    assert [(s["title"], s["first_date"]) for s in response.json()["series"]] == [
        ("Footwork", "2028-02-29")
    ]
    assert response.json()["problems"] == [
        {
            "date": "2028-02-22",
            "code": "invalid",
            "detail": "Old rule: One or more distinct ISO weekdays, 1 (Monday) to 7 (Sunday). "
            "Between 1 and 2 occurrences.",
            "conflicts": [],
        }
    ]


def test_an_instructor_no_longer_qualified_is_named_and_the_others_still_planned(token_client):
    source, target = term(AUTUMN), term(SPRING)
    master = source.master_instructor
    serve = SpecializationFactory(code="SERVE", name="Serve")
    QualificationFactory(instructor=master, specialization=serve)
    weekly(source, "Serve clinic", date(2027, 10, 5), target_specialization=serve)
    weekly(source, "Footwork", date(2027, 10, 12), hour=20)
    InstructorQualification.objects.filter(instructor=master).delete()
    body = {"target_semester": target.pk, "weeks": WEEKS, "dry_run": True}

    response = token_client(StaffFactory()).post(url(source), body, format="json")

    assert response.status_code == 200
    assert [s["title"] for s in response.json()["series"]] == ["Footwork"]
    assert response.json()["problems"] == [
        {
            "date": "2028-02-22",
            "code": "invalid",
            "detail": f"Serve clinic: {master} holds no active qualification for {serve}.",
            "conflicts": [],
        }
    ]


def test_each_problem_of_a_copy_is_dated_and_a_conflict_names_the_session_in_the_way(
    token_client,
):
    """The target ends a week early, so the last Tuesday is outside it; a stored session
    of the same instructor takes the first one."""
    source, target = term(AUTUMN), term(SPRING, weeks=2)
    weekly(source, "Footwork", date(2027, 10, 5), count=3)
    busy = SessionFactory(
        semester=target,
        title="Private lesson",
        instructor=source.master_instructor,
        date_start=at(date(2028, 2, 22), 18),
        date_end=at(date(2028, 2, 22), 19),
    )
    body = {"target_semester": target.pk, "weeks": WEEKS, "dry_run": True}

    response = token_client(StaffFactory()).post(url(source), body, format="json")

    assert response.status_code == 200
    assert response.json()["problems"] == [
        {
            "date": "2028-02-22",
            "code": "instructor_busy",
            "detail": "Footwork, 2028-02-22: The instructor teaches another session at that "
            f"time: Private lesson ({busy.date_start:%Y-%m-%d %H:%M}, session {busy.pk}).",
            "conflicts": [
                {
                    "id": busy.pk,
                    "title": "Private lesson",
                    "date_start": busy.date_start.isoformat(),
                }
            ],
        },
        {
            "date": "2028-03-07",
            "code": "invalid",
            "detail": f"Footwork: 2028-03-07: The session must end within semester "
            f"{target.code} (2028-02-21 to 2028-03-05).",
            "conflicts": [],
        },
    ]


# --- The copies: their order, what they record, the statements they cost ------------------


def two_series_made_latest_first(source):
    """Two series, each with a group and a target specialization, the later one made
    first: the ids and the first dates disagree."""
    serve = SpecializationFactory(code="SERVE", name="Serve")
    QualificationFactory(instructor=source.master_instructor, specialization=serve)
    group = GroupFactory(semester=source, name="Beginners")
    for title, first_date, hour in [
        ("Late", date(2027, 10, 12), 20),
        ("Early", date(2027, 10, 5), 18),
    ]:
        weekly(source, title, first_date, hour=hour, group=group, target_specialization=serve)


def test_the_preview_plans_the_series_by_first_date_in_a_bounded_number_of_statements(
    token_client, django_assert_num_queries
):
    source, target = term(AUTUMN), term(SPRING)
    two_series_made_latest_first(source)
    GroupFactory(semester=target, name="Beginners")
    client = token_client(StaffFactory())
    body = {"target_semester": target.pk, "weeks": WEEKS, "dry_run": True}

    # 1 token and user; 1 source semester; 1 target semester (the body's id); 1 series
    # with their group, instructor and target specialization; 1 target's groups; per
    # series 1 qualification check; 1 conflict query for every occurrence.
    with django_assert_num_queries(8):
        response = client.post(url(source), body, format="json")

    assert response.status_code == 200
    assert [(s["title"], s["first_date"]) for s in response.json()["series"]] == [
        ("Early", "2028-02-22"),
        ("Late", "2028-02-29"),
    ]
    assert response.json()["problems"] == []


def test_the_copy_records_who_made_it_and_answers_in_a_bounded_number_of_statements(
    token_client, django_assert_num_queries
):
    source, target = term(AUTUMN), term(SPRING)
    two_series_made_latest_first(source)
    staff = StaffFactory()
    client = token_client(staff)
    body = {"target_semester": target.pk, "weeks": WEEKS}
    postgresql = connection.vendor == "postgresql"

    # The preview's 8 statements; savepoint + release (+ SET LOCAL lock_timeout on
    # PostgreSQL); 1 lock of the instructor (+ 1 advisory lock of the location on
    # PostgreSQL); 1 conflict query; 2 INSERTs of series; 1 bulk INSERT of occurrences;
    # 1 INSERT of activities: 8 more; then the answer: 1 series with their target
    # specializations, 1 their occurrences, whatever the number of series.
    with django_assert_num_queries(20 if postgresql else 18):
        response = client.post(url(source), body, format="json")

    assert response.status_code == 201
    copies = response.json()["series"]
    assert [(s["title"], len(s["occurrences"])) for s in copies] == [("Early", 2), ("Late", 2)]
    created = Activity.objects.filter(verb="series.created").exclude(data__copied_from=None)
    assert [(a.actor, a.data["copied_from"], a.data["weeks"]) for a in created] == [
        (staff, source.pk, WEEKS)
    ] * 2
    occurrences = [o["id"] for s in copies for o in s["occurrences"]]
    each = Activity.objects.filter(verb="session.created", session_id__in=occurrences)
    assert {a.actor for a in each} == {staff} and each.count() == 4


def test_series_that_start_on_one_day_are_copied_in_the_order_they_were_made(token_client):
    """Ties on the first date break on the id. The earlier series moves to another
    semester and back after the later one is made, so PostgreSQL stores its row, and
    indexes it under the semester, after the later one's: a read in storage or index
    order would list it second without the tie-break."""
    source, target = term(AUTUMN), term(SPRING)
    earlier = weekly(source, "Morning", date(2027, 10, 5), hour=9)
    weekly(source, "Evening", date(2027, 10, 5), hour=18)
    moved = SessionSeries.objects.filter(pk=earlier.pk)
    moved.update(semester=target)
    moved.update(semester=source, title="Morning drills")
    body = {"target_semester": target.pk, "weeks": WEEKS, "dry_run": True}

    response = token_client(StaffFactory()).post(url(source), body, format="json")

    assert [s["title"] for s in response.json()["series"]] == ["Morning drills", "Evening"]
