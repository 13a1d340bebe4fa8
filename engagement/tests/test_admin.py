"""Attendance, feedback and projects in the admin."""

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import User
from accounts.tests.factories import StaffFactory
from engagement.models import Attendance, Feedback, Project
from engagement.tests.factories import AttendanceFactory, FeedbackFactory, ProjectFactory
from scheduling.tests.factories import PastSessionFactory, SemesterFactory, SessionFactory

pytestmark = pytest.mark.django_db

FEEDBACK = reverse("admin:engagement_feedback_changelist")
PROJECT_ADD = reverse("admin:engagement_project_add")


@pytest.fixture
def staff() -> User:
    return StaffFactory()


@pytest.fixture
def staff_client(staff: User) -> Client:
    client = Client()
    client.force_login(staff)
    return client


@pytest.mark.parametrize("size", [10, 200])
def test_feedback_changelist_queries_do_not_grow(staff_client, size, django_assert_num_queries):
    session = PastSessionFactory()
    FeedbackFactory.create_batch(size, session=session)

    # 2 auth + 2 filter choices (ratings given, semesters) + 1 count (no unfiltered
    # total) + 1 page with sessions and students + 2 date hierarchy (range, days).
    with django_assert_num_queries(8):
        response = staff_client.get(FEEDBACK)

    assert response.status_code == 200
    assert len(response.context["cl"].result_list) == min(size, 100)


@pytest.mark.parametrize("size", [10, 200])
def test_attendance_changelist_queries_do_not_grow(staff_client, size, django_assert_num_queries):
    session = PastSessionFactory()
    AttendanceFactory.create_batch(size, session=session)
    # 2 auth + 1 filter (semesters; statuses are choices) + 1 count + 1 page with
    # sessions, students and markers + 2 date hierarchy.
    with django_assert_num_queries(7):
        response = staff_client.get(reverse("admin:engagement_attendance_changelist"))
    assert len(response.context["cl"].result_list) == min(size, 100)


@pytest.mark.parametrize("model", [Attendance, Feedback])
def test_attendance_and_feedback_are_read_only(staff_client, model):
    row = (AttendanceFactory if model is Attendance else FeedbackFactory)()
    before = list(model.objects.values())
    opts = model._meta
    change = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[row.pk])
    delete = reverse(f"admin:{opts.app_label}_{opts.model_name}_delete", args=[row.pk])
    assert staff_client.post(change, {"status": "absent", "rating": "1"}).status_code == 403
    assert staff_client.post(delete, {"post": "yes"}).status_code == 403
    assert list(model.objects.values()) == before


def project_data(semester, sessions, **overrides) -> dict:
    return {
        "title": "Serve analysis",
        "description": "",
        "semester": semester.pk,
        "sessions": [s.pk for s in sessions],
        **overrides,
    }


def test_a_project_is_created_through_its_service(staff_client):
    semester = SemesterFactory()
    sessions = SessionFactory.create_batch(2, semester=semester)
    response = staff_client.post(PROJECT_ADD, project_data(semester, sessions))
    assert response.status_code == 302
    project = Project.objects.get()
    assert set(project.sessions.all()) == set(sessions)


def test_a_session_of_another_semester_is_refused_on_the_field(staff_client):
    semester = SemesterFactory()
    stranger = SessionFactory()
    response = staff_client.post(PROJECT_ADD, project_data(semester, [stranger]))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "not in semester" in errors["sessions"][0]
    assert not Project.objects.exists()


def test_project_sessions_change_and_semester_stays(staff_client):
    project = ProjectFactory()
    semester = project.semester
    kept, added = SessionFactory.create_batch(2, semester=project.semester)
    project.sessions.set([kept])
    url = reverse("admin:engagement_project_change", args=[project.pk])
    response = staff_client.post(
        url, project_data(SemesterFactory(), [kept, added], title="Renamed")
    )
    assert response.status_code == 302
    project.refresh_from_db()
    assert project.title == "Renamed"
    assert set(project.sessions.all()) == {kept, added}
    assert project.semester == semester
