"""/api/v1/projects/: everybody reads; staff and the master instructor write (SPEC §4)."""

import pytest

from activity.models import Activity
from bookings.tests.api_world import ROLES, build_world
from engagement.models import Project
from engagement.tests.factories import ProjectFactory, ProjectSessionFactory
from scheduling.models import Session
from scheduling.tests.factories import SessionFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/projects/"


@pytest.fixture
def world():
    return build_world()


@pytest.fixture
def project(world):
    project = ProjectFactory(semester=world.semester)
    ProjectSessionFactory(project=project, session=world.session)
    return project


READ_TABLE = {role: 401 if role == "anonymous" else 200 for role in ROLES}


@pytest.mark.parametrize(("role", "status"), READ_TABLE.items())
def test_every_user_reads_projects(as_role, world, project, role, status):
    client = as_role(role)
    listed = client.get(URL)
    shown = client.get(f"{URL}{project.pk}/")
    assert listed.status_code == shown.status_code == status
    if status == 200:
        assert [row["id"] for row in listed.json()["results"]] == [project.pk]
        assert shown.json() == {
            "id": project.pk,
            "title": project.title,
            "description": project.description,
            "semester": world.semester.pk,
            "sessions": [world.session.pk],
        }


def test_filter_by_semester(as_role, world, project):
    ProjectFactory(semester=world.other_semester)
    rows = as_role("student").get(URL, {"semester": world.semester.pk}).json()["results"]
    assert [row["id"] for row in rows] == [project.pk]


# role -> status of creating a project in `semester` (mastered by `master`).
WRITE_TABLE = {
    "anonymous": 401,
    "student": 403,
    "other_student": 403,
    "instructor": 403,  # Teaches a session of the semester, but does not master it.
    "master": 201,
    "other_instructor": 403,  # Masters another semester.
    "staff": 201,
}


@pytest.mark.parametrize(("role", "status"), WRITE_TABLE.items())
def test_who_creates_projects(as_role, world, role, status):
    response = as_role(role).post(
        URL,
        {"semester": world.semester.pk, "title": "Match analysis", "sessions": [world.session.pk]},
    )
    assert response.status_code == status
    if status == 201:
        project = Project.objects.get()
        assert response.json() == {
            "id": project.pk,
            "title": "Match analysis",
            "description": "",
            "semester": world.semester.pk,
            "sessions": [world.session.pk],
        }
    else:
        assert not Project.objects.exists()


@pytest.mark.parametrize(("role", "status"), WRITE_TABLE.items())
def test_who_updates_projects(as_role, world, project, role, status):
    status = 200 if status == 201 else status
    response = as_role(role).patch(f"{URL}{project.pk}/", {"title": "Renamed"})
    assert response.status_code == status
    project.refresh_from_db()
    assert (project.title == "Renamed") == (status == 200)


@pytest.mark.parametrize(("role", "status"), WRITE_TABLE.items())
def test_who_deletes_projects(as_role, world, project, role, status):
    status = 204 if status == 201 else status
    response = as_role(role).delete(f"{URL}{project.pk}/")
    assert response.status_code == status
    assert Project.objects.filter(pk=project.pk).exists() == (status != 204)
    assert Session.objects.filter(pk=world.session.pk).exists()


def test_sessions_must_be_in_the_projects_semester_on_create(as_role, world):
    response = as_role("staff").post(
        URL,
        {
            "semester": world.semester.pk,
            "title": "Mixed",
            "sessions": [world.session.pk, world.other_session.pk],
        },
    )
    assert response.status_code == 400
    assert str(world.other_session.pk) in response.json()["sessions"][0]
    assert not Project.objects.exists()


def test_sessions_must_be_in_the_projects_semester_on_update(as_role, world, project):
    response = as_role("master").patch(
        f"{URL}{project.pk}/", {"sessions": [world.other_session.pk]}
    )
    assert response.status_code == 400
    assert "sessions" in response.json()
    assert list(project.sessions.all()) == [world.session]


def test_patch_replaces_the_sessions_given(as_role, world, project):
    later = SessionFactory(semester=world.semester)
    response = as_role("master").patch(f"{URL}{project.pk}/", {"sessions": [later.pk]})
    assert response.status_code == 200
    assert response.json()["sessions"] == [later.pk]
    assert response.json()["title"] == project.title


def test_a_project_keeps_its_description_and_records_what_changed(as_role, world):
    client = as_role("master")
    created = client.post(
        URL, {"semester": world.semester.pk, "title": "Serve", "description": "Week one"}
    )
    assert (created.status_code, created.json()["description"]) == (201, "Week one")
    project = Project.objects.get()
    later = SessionFactory(semester=world.semester)

    response = client.patch(
        f"{URL}{project.pk}/", {"description": "Week two", "sessions": [later.pk]}
    )

    assert response.json()["description"] == "Week two"
    updated = Activity.objects.get(verb="project.updated")
    assert updated.data == {
        "changes": {"description": ["Week one", "Week two"], "sessions": [None, [later.pk]]}
    }


def test_put_replaces_every_field(as_role, world, project):
    response = as_role("master").put(f"{URL}{project.pk}/", {"title": "Only a title"})
    assert response.status_code == 200
    assert (response.json()["description"], response.json()["sessions"]) == ("", [])


@pytest.mark.parametrize(("semester", "status"), [("semester", 200), ("other_semester", 400)])
def test_the_semester_cannot_change(as_role, world, project, semester, status):
    response = as_role("staff").patch(
        f"{URL}{project.pk}/", {"semester": getattr(world, semester).pk, "title": "Moved?"}
    )
    assert response.status_code == status
    project.refresh_from_db()
    assert project.semester == world.semester
    if status == 400:
        assert "semester" in response.json()


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"title": "No semester"}, "semester"),
        ({"semester": "semester"}, "title"),
        ({"semester": "semester", "title": "x" * 201}, "title"),
        ({"semester": "semester", "title": "Bad ids", "sessions": [10**9]}, "sessions"),
        ({"semester": "semester", "title": "Bad ids", "sessions": "all"}, "sessions"),
    ],
)
def test_invalid_input_is_400_naming_the_field(as_role, world, payload, field):
    if payload.get("semester") == "semester":
        payload["semester"] = world.semester.pk
    response = as_role("staff").post(URL, payload, format="json")
    assert response.status_code == 400
    assert field in response.json()


@pytest.mark.parametrize("size", [1, 10, 100])
def test_list_queries_do_not_grow(token_client, django_assert_num_queries, world, size):
    sessions = [SessionFactory(semester=world.semester) for _ in range(2)]
    for _ in range(size):
        project = ProjectFactory(semester=world.semester)
        for session in sessions:
            ProjectSessionFactory(project=project, session=session)
    client = token_client(world.student)
    # The token with its user, the count, the page, the session ids of the whole page.
    with django_assert_num_queries(4):
        response = client.get(URL, {"page_size": 500})
    assert response.json()["count"] == size
    assert all(len(row["sessions"]) == 2 for row in response.json()["results"])


@pytest.mark.parametrize("table", [READ_TABLE, WRITE_TABLE])
def test_every_table_covers_every_role(table):
    assert tuple(table) == ROLES
