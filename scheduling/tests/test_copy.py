"""Copies: a session duplicated to another date, and a semester's series copied into
another semester shifted by whole weeks, each checked like any new session, through
the services and the API."""

from datetime import date, datetime, time, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import InstructorFactory, StaffFactory
from activity.models import Activity
from scheduling.models import Session, SessionSeries
from scheduling.series import semester_copy, semester_copy_plan, series_create
from scheduling.tests.factories import GroupFactory, SessionFactory
from scheduling.tests.series_world import term

pytestmark = pytest.mark.django_db

TUESDAY, THURSDAY = 2, 4


def twice_weekly(semester, **fields) -> SessionSeries:
    return series_create(
        by=StaffFactory(),
        semester=semester,
        title="Evening technique",
        instructor=semester.master_instructor,
        weekdays=[TUESDAY, THURSDAY],
        start_time=time(18, 0),
        duration_minutes=90,
        first_date=semester.start_date,
        until_date=semester.end_date,
        **fields,
    )


# Duplicate


def test_duplicate_defaults_to_the_same_weekday_next_week_at_the_same_local_time(client):
    session = SessionFactory(title="Serve drills", capacity=7, credit_cost=3)
    master = session.semester.master_instructor
    client.force_login(master)

    from scheduling.services import session_duplicate

    copy = session_duplicate(session=session, by=master)

    local, original = timezone.localtime(copy.date_start), timezone.localtime(session.date_start)
    assert local.date() == original.date() + timedelta(weeks=1)
    assert local.time() == original.time()
    assert copy.date_end - copy.date_start == session.date_end - session.date_start
    assert (copy.title, copy.capacity, copy.credit_cost, copy.location) == (
        "Serve drills",
        7,
        3,
        session.location,
    )
    assert copy.series_id is None and copy.pk != session.pk
    created = Activity.objects.get(verb="session.created", target_id=copy.pk)
    assert created.data["duplicated_from"] == session.pk


def test_the_api_duplicates_to_a_given_start_or_weeks_later(token_client):
    session = SessionFactory(title="Serve drills")
    client = token_client(session.semester.master_instructor)
    url = f"/api/v1/sessions/{session.pk}/duplicate/"
    start = session.date_start + timedelta(days=2, hours=1)

    at = client.post(url, {"date_start": start.isoformat()}, format="json")
    later = client.post(url, {"weeks": 2}, format="json")

    assert at.status_code == 201 and later.status_code == 201
    assert Session.objects.get(pk=at.json()["id"]).date_start == start
    moved = Session.objects.get(pk=later.json()["id"])
    assert timezone.localdate(moved.date_start) == timezone.localdate(
        session.date_start
    ) + timedelta(weeks=2)
    assert Session.objects.filter(title="Serve drills").count() == 3


def test_a_duplicate_is_checked_like_a_new_session(token_client):
    session = SessionFactory()
    client = token_client(session.semester.master_instructor)
    url = f"/api/v1/sessions/{session.pk}/duplicate/"
    busy = SessionFactory(
        semester=session.semester,
        instructor=session.instructor,
        date_start=session.date_start + timedelta(weeks=1),
        date_end=session.date_end + timedelta(weeks=1),
        location="Elsewhere",
    )
    before = Session.objects.count()

    conflict = client.post(url, {}, format="json")
    outside = client.post(url, {"weeks": 52}, format="json")
    both = client.post(url, {"weeks": 1, "date_start": busy.date_start.isoformat()}, format="json")
    stranger = token_client(InstructorFactory()).post(url, {}, format="json")

    assert conflict.status_code == 409 and conflict.json()["code"] == "instructor_busy"
    assert conflict.json()["conflicts"][0]["id"] == busy.pk
    assert outside.status_code == 400 and "within semester" in str(outside.json())
    assert both.json() == {"date_start": ["Give a start, a day or a number of weeks, not several."]}
    assert stranger.status_code == 403
    assert Session.objects.count() == before


WEEKS = "Whole weeks, 1 to 520 either way."


@pytest.mark.parametrize("weeks", [0, 521, -521, 10**20])
def test_weeks_outside_one_to_520_either_way_are_400_naming_weeks(token_client, weeks):
    session = SessionFactory()
    url = f"/api/v1/sessions/{session.pk}/duplicate/"

    response = token_client(session.semester.master_instructor).post(
        url, {"weeks": weeks}, format="json"
    )

    assert (response.status_code, response.json()["weeks"]) == (400, [WEEKS])
    assert Session.objects.count() == 1


@pytest.mark.parametrize("weeks", [520, -520])
def test_520_weeks_either_way_is_a_count_the_rule_accepts(token_client, weeks):
    """Ten years away is outside the semester: refused for that, not for the count."""
    session = SessionFactory()
    url = f"/api/v1/sessions/{session.pk}/duplicate/"

    response = token_client(session.semester.master_instructor).post(
        url, {"weeks": weeks}, format="json"
    )

    assert response.status_code == 400
    assert "weeks" not in response.json() and "within semester" in str(response.json())


def test_a_duplicate_onto_a_skipped_wall_clock_hour_is_400_naming_date_start(
    token_client, settings
):
    """02:30 does not exist in Berlin on 28 March 2027 (the clocks skip 02:00-03:00)."""
    settings.TIME_ZONE = "Europe/Berlin"
    semester = term(date(2027, 3, 1))
    berlin = timezone.get_default_timezone()
    start = timezone.make_aware(datetime(2027, 3, 21, 2, 30), berlin)
    session = SessionFactory(
        semester=semester,
        instructor=semester.master_instructor,
        date_start=start,
        date_end=start + timedelta(hours=1),
    )
    url = f"/api/v1/sessions/{session.pk}/duplicate/"

    response = token_client(semester.master_instructor).post(url, {"weeks": 1}, format="json")

    assert response.status_code == 400
    assert response.json()["date_start"] == [
        "2027-03-28: 02:30 does not exist in Europe/Berlin that day (the clocks skip it)."
    ]
    assert Session.objects.count() == 1


# Copying a semester's series


def test_copying_a_semesters_series_previews_then_shifts_every_date_by_whole_weeks(settings):
    settings.TIME_ZONE = "Europe/Berlin"
    # Autumn 2027 into spring 2028: 20 weeks later, across no change; times stay 18:00.
    source = term(date(2027, 10, 4))
    target = term(date(2028, 2, 21))
    group = GroupFactory(semester=source, name="Beginners")
    same_name = GroupFactory(semester=target, name="Beginners")
    original = twice_weekly(
        source, group=group, skipped_dates=[date(2027, 10, 14)], location="Court 2"
    )
    staff = StaffFactory()
    before = Session.objects.count()

    plan = semester_copy_plan(by=staff, source=source, target=target, weeks=20)
    assert Session.objects.count() == before and plan.problems == []
    assert (plan.source, plan.target, plan.weeks) == (source, target, 20)
    assert len(plan.plans) == 1 and len(plan.plans[0].occurrences) == 11

    (copy,) = semester_copy(by=staff, source=source, target=target, weeks=20)

    assert copy.semester == target and copy.group == same_name
    assert copy.first_date == original.first_date + timedelta(weeks=20)
    assert copy.until_date == original.until_date + timedelta(weeks=20)
    assert copy.skipped_dates == [(date(2027, 10, 14) + timedelta(weeks=20)).isoformat()]
    starts = [timezone.localtime(s.date_start) for s in copy.occurrences.all()]
    assert len(starts) == 11
    assert {s.time() for s in starts} == {time(18, 0)}
    assert {s.isoweekday() for s in starts} == {TUESDAY, THURSDAY}
    created = Activity.objects.filter(verb="series.created", target_id=copy.pk).get()
    assert created.data["copied_from"] == source.pk and created.data["weeks"] == 20


def test_a_semester_copy_with_one_bad_date_writes_nothing_and_names_each_date():
    source = term(date(2027, 10, 4))
    target = term(date(2028, 2, 21), weeks=4)  # two weeks shorter: four dates fall outside
    twice_weekly(source)
    busy_day = date(2028, 2, 22)
    SessionFactory(
        semester=target,
        instructor=source.master_instructor,
        date_start=timezone.make_aware(timezone.datetime.combine(busy_day, time(18, 30))),
        date_end=timezone.make_aware(timezone.datetime.combine(busy_day, time(19, 0))),
    )
    staff = StaffFactory()
    series_before, before = SessionSeries.objects.count(), Session.objects.count()

    plan = semester_copy_plan(by=staff, source=source, target=target, weeks=20)
    with pytest.raises(Exception) as refused:
        semester_copy(by=staff, source=source, target=target, weeks=20)

    dates = [p.date for p in plan.problems]
    assert busy_day in dates
    assert [p.code for p in plan.problems].count("invalid") == 4
    assert all("Evening technique" in p.detail for p in plan.problems)
    assert "occurrences" in refused.value.message_dict
    assert SessionSeries.objects.count() == series_before and Session.objects.count() == before


def test_the_api_copies_a_semesters_series_for_staff_only(token_client):
    source = term(date(2027, 10, 4))
    target = term(date(2028, 2, 21))
    twice_weekly(source)
    url = f"/api/v1/semesters/{source.pk}/copy-series/"
    body = {"target_semester": target.pk, "weeks": 20}
    staff = token_client(StaffFactory())

    master = token_client(source.master_instructor).post(url, body, format="json")
    preview = staff.post(url, {**body, "dry_run": True}, format="json")
    assert not SessionSeries.objects.filter(semester=target).exists()
    created = staff.post(url, body, format="json")
    again = staff.post(url, body, format="json")
    bad = staff.post(url, {"target_semester": target.pk, "weeks": "two"}, format="json")

    assert master.status_code == 403
    assert preview.status_code == 200
    assert len(preview.json()["series"][0]["occurrences"]) == 12
    assert preview.json()["problems"] == []
    assert created.status_code == 201
    assert len(created.json()["series"][0]["occurrences"]) == 12
    assert again.status_code == 409 and again.json()["code"] == "instructor_busy"
    assert len(again.json()["problems"]) == 12
    assert bad.status_code == 400 and "weeks" in bad.json()
    assert SessionSeries.objects.filter(semester=target).count() == 1


def test_staff_preview_then_copy_a_semesters_series_in_the_admin(client):
    source = term(date(2027, 10, 4))
    target = term(date(2028, 2, 21))
    twice_weekly(source)
    url = reverse("admin:scheduling_semester_copy_series", args=[source.pk])
    client.force_login(StaffFactory())
    body = {"target": target.pk, "weeks": 20}

    page = client.get(reverse("admin:scheduling_semester_change", args=[source.pk]))
    preview = client.post(url, {**body, "preview": "Preview"})
    assert not SessionSeries.objects.filter(semester=target).exists()
    copied = client.post(url, {**body, "apply": "Copy"})

    assert url in page.content.decode()
    assert preview.status_code == 200
    assert "Evening technique: 12 sessions" in preview.content.decode()
    assert 'name="apply"' in preview.content.decode()
    assert copied.status_code == 302
    assert SessionSeries.objects.get(semester=target).occurrences.count() == 12


def test_the_admin_copy_names_each_problem_date_and_offers_no_copy(client):
    source = term(date(2027, 10, 4))
    target = term(date(2028, 2, 21), weeks=4)
    twice_weekly(source)
    url = reverse("admin:scheduling_semester_copy_series", args=[source.pk])
    client.force_login(StaffFactory())

    preview = client.post(url, {"target": target.pk, "weeks": 20, "preview": "Preview"})
    forced = client.post(url, {"target": target.pk, "weeks": 20, "apply": "Copy"})

    html = preview.content.decode()
    assert "2028-03-21" in html and "within semester" in html
    assert 'name="apply"' not in html
    assert forced.status_code == 200 and "2028-03-30" in forced.content.decode()
    assert not SessionSeries.objects.filter(semester=target).exists()


def test_the_admin_copy_is_for_staff_only(client):
    source = term(date(2027, 10, 4))
    client.force_login(source.master_instructor)

    response = client.get(reverse("admin:scheduling_semester_copy_series", args=[source.pk]))

    assert response.status_code == 302  # to the admin's login: not staff
    assert "login" in response["Location"]
