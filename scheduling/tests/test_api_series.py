"""`/api/v1/series/`: create with dry_run, read, scoped edit and cancel."""

from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from accounts.tests.factories import InstructorFactory, StudentFactory
from scheduling.models import Session, SessionSeries
from scheduling.tests.factories import SemesterFactory, SessionFactory

pytestmark = pytest.mark.django_db

LIST = "/api/v1/series/"


def payload(semester, **fields) -> dict:
    return {
        "semester": semester.pk,
        "title": "Evening technique",
        "instructor": semester.master_instructor.pk,
        "weekdays": [2, 4],
        "start_time": "18:00",
        "duration_minutes": 90,
        "first_date": (timezone.localdate() + timedelta(days=1)).isoformat(),
        "count": 6,
        **fields,
    }


def test_the_master_instructor_previews_then_creates_a_series(token_client):
    semester = SemesterFactory()
    client = token_client(semester.master_instructor)

    preview = client.post(LIST, payload(semester, dry_run=True), format="json")
    created = client.post(LIST, payload(semester), format="json")

    assert preview.status_code == 200
    assert len(preview.json()["occurrences"]) == 6 and preview.json()["problems"] == []
    assert created.status_code == 201
    body = created.json()
    assert len(body["occurrences"]) == 6
    assert Session.objects.filter(series_id=body["id"]).count() == 6
    assert client.get(f"{LIST}{body['id']}/").json()["occurrences"] == body["occurrences"]


def test_a_conflicting_date_is_a_409_naming_it_and_nothing_is_written(token_client):
    semester = SemesterFactory()
    client = token_client(semester.master_instructor)
    first = client.post(LIST, payload(semester, dry_run=True), format="json").json()
    busy = first["occurrences"][2]
    SessionFactory(
        semester=semester,
        instructor=semester.master_instructor,
        date_start=busy["date_start"],
        date_end=busy["date_end"],
    )
    before = Session.objects.count()

    response = client.post(LIST, payload(semester), format="json")

    assert response.status_code == 409
    assert response.json()["code"] == "instructor_busy"
    assert [p["date"] for p in response.json()["problems"]] == [busy["date_start"][:10]]
    assert Session.objects.count() == before and not SessionSeries.objects.exists()


def test_a_date_outside_the_semester_is_a_400_naming_it(token_client):
    semester = SemesterFactory(end_date=timezone.localdate() + timedelta(days=10))
    client = token_client(semester.master_instructor)

    response = client.post(LIST, payload(semester, count=8), format="json")

    assert response.status_code == 400
    assert all("within semester" in m for m in response.json()["occurrences"])
    assert not SessionSeries.objects.exists()


def test_others_cannot_create_and_students_cannot_read(token_client):
    semester = SemesterFactory()

    stranger = token_client(InstructorFactory()).post(LIST, payload(semester), format="json")
    student = token_client(StudentFactory()).get(LIST)

    assert stranger.status_code == 403
    assert student.status_code == 403


def test_scoped_edit_and_cancel(token_client):
    semester = SemesterFactory()
    client = token_client(semester.master_instructor)
    series = client.post(LIST, payload(semester), format="json").json()
    third = series["occurrences"][2]["id"]

    edited = client.patch(
        f"{LIST}{series['id']}/",
        {"scope": "following", "occurrence": third, "title": "Late technique"},
        format="json",
    )
    cancelled = client.post(
        f"{LIST}{series['id']}/cancel/", {"scope": "this", "occurrence": third}, format="json"
    )

    assert edited.status_code == 200
    assert len(edited.json()["sessions"]) == 4
    titles = [o["title"] for o in edited.json()["series"]["occurrences"]]
    assert titles == ["Evening technique"] * 2 + ["Late technique"] * 4
    assert cancelled.status_code == 200
    assert cancelled.json()["sessions"] == [third]
    assert Session.objects.get(pk=third).status == "cancelled"


def test_a_new_rule_for_the_following_previews_then_moves_creates_and_cancels(token_client):
    semester = SemesterFactory()
    client = token_client(semester.master_instructor)
    series = client.post(LIST, payload(semester), format="json").json()
    ids = [o["id"] for o in series["occurrences"]]
    change = {"scope": "following", "occurrence": ids[2], "weekdays": [5], "count": 3}
    before = list(Session.objects.order_by("pk").values_list("pk", "date_start", "status"))

    preview = client.patch(f"{LIST}{series['id']}/", {**change, "dry_run": True}, format="json")

    assert preview.status_code == 200
    body = preview.json()
    assert body["changed"] == ids[2:5] and body["cancelled"] == [ids[5]]
    assert [m["id"] for m in body["moved"]] == ids[2:5] and body["created"] == []
    assert body["problems"] == [] and body["students_told"] == 0
    assert list(Session.objects.order_by("pk").values_list("pk", "date_start", "status")) == (
        before
    )

    applied = client.patch(f"{LIST}{series['id']}/", change, format="json")

    assert applied.status_code == 200
    new_series = applied.json()["series"]
    assert new_series["split_from"] == series["id"] and new_series["weekdays"] == [5]
    moved = {o["id"]: o for o in new_series["occurrences"]}
    for pk in ids[2:5]:
        assert timezone.localtime(Session.objects.get(pk=pk).date_start).isoweekday() == 5
    assert moved[ids[5]]["status"] == "cancelled"


def test_a_new_rule_outside_the_semester_is_a_400_naming_the_dates(token_client):
    semester = SemesterFactory(end_date=timezone.localdate() + timedelta(days=30))
    client = token_client(semester.master_instructor)
    series = client.post(LIST, payload(semester, count=4), format="json").json()
    first = series["occurrences"][0]["id"]
    change = {"scope": "following", "occurrence": first, "count": 12}

    preview = client.patch(f"{LIST}{series['id']}/", {**change, "dry_run": True}, format="json")
    refused = client.patch(f"{LIST}{series['id']}/", change, format="json")
    wrong_scope = client.patch(
        f"{LIST}{series['id']}/", {"scope": "all", "weekdays": [1]}, format="json"
    )

    late = [p["date"] for p in preview.json()["problems"]]
    assert late and all(day > semester.end_date.isoformat() for day in late)
    assert refused.status_code == 400
    assert all("within semester" in m for m in refused.json()["occurrences"])
    assert Session.objects.filter(series_id=series["id"]).count() == 4
    assert wrong_scope.status_code == 400 and "scope" in wrong_scope.json()


def test_cancel_previews_the_refunds_without_writing(token_client):
    semester = SemesterFactory()
    client = token_client(semester.master_instructor)
    series = client.post(LIST, payload(semester), format="json").json()

    preview = client.post(
        f"{LIST}{series['id']}/cancel/", {"scope": "all", "dry_run": True}, format="json"
    )

    assert preview.status_code == 200
    assert len(preview.json()["cancelled"]) == 6 and preview.json()["credits_refunded"] == 0
    assert not Session.objects.filter(status="cancelled").exists()


def _rule_days(first, n: int) -> list:
    """The first `n` Tuesdays and Thursdays from `first`."""
    days = (first + timedelta(days=k) for k in range(7 * n))
    return [day for day in days if day.isoweekday() in (2, 4)][:n]


@pytest.mark.parametrize(("days", "status"), [(4, 200), (5, 400)])
def test_until_date_is_inclusive_and_the_occurrence_limit_is_exact(
    token_client, settings, days, status
):
    # From the mutation run: no test reached the limit (scheduling.recurrence's
    # `limit + 1` dates) nor an until_date on a rule day.
    settings.SERIES_MAX_OCCURRENCES = 4
    semester = SemesterFactory()
    first = timezone.localdate() + timedelta(days=1)
    until = _rule_days(first, days)[-1]
    client = token_client(semester.master_instructor)
    fields = {"count": None, "until_date": until.isoformat(), "dry_run": True}

    response = client.post(LIST, payload(semester, **fields), format="json")

    assert response.status_code == status
    if status == 200:
        dates = [o["date_start"][:10] for o in response.json()["occurrences"]]
        assert dates[-1] == until.isoformat() and len(dates) == 4
    else:
        assert response.json()["until_date"] == ["A series has at most 4 occurrences."]


def test_sessions_back_to_back_with_an_occurrence_do_not_conflict(token_client):
    # From the mutation run: with several candidates the stored rows are fetched for the
    # whole span, so only the half-open comparison (scheduling.conflicts) lets sessions
    # that end as an occurrence starts, or start as it ends, pass.
    semester = SemesterFactory()
    client = token_client(semester.master_instructor)
    plan = client.post(LIST, payload(semester, dry_run=True), format="json").json()
    second = plan["occurrences"][1]  # inside the span, so its neighbours are fetched
    start, end = (datetime.fromisoformat(second[key]) for key in ("date_start", "date_end"))
    for date_start, date_end in [
        (start - timedelta(hours=1), start),
        (end, end + timedelta(hours=1)),
    ]:
        SessionFactory(
            semester=semester,
            instructor=semester.master_instructor,
            location=semester.location,
            date_start=date_start,
            date_end=date_end,
        )

    preview = client.post(LIST, payload(semester, dry_run=True), format="json")
    created = client.post(LIST, payload(semester), format="json")

    assert preview.status_code == 200 and preview.json()["problems"] == []
    assert created.status_code == 201
