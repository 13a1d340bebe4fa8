"""The attendance register: hand-computed figures, the same numbers on every surface,
who sees what, and a constant number of queries."""

import csv
import io
from datetime import timedelta
from html.parser import HTMLParser

import pytest
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from accounts.tests.factories import StudentFactory
from bookings.tests.factories import BookingFactory
from engagement.tests.factories import AttendanceFactory
from reports.exports import text
from scheduling.tests.factories import GroupFactory, SemesterFactory, SessionFactory

from .world import build_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    return build_world()


# Hand-computed from the world's docstring: the cells of s1, s2, s3, s5 (s4 is cancelled).
EXPECTED_CELLS = {
    "able": ["present", "absent", "present", "booked"],
    "baker": ["late", "excused", "", ""],
    "carter": ["booked", "", "present", ""],
}
EXPECTED_TOTALS = {
    # attended, present, late, excused, absent, no_show, rate
    "able": {"attended": 2, "present": 2, "late": 0, "excused": 0, "absent": 1, "no_show": 1,
             "rate": 0.6667},
    "baker": {"attended": 1, "present": 0, "late": 1, "excused": 1, "absent": 0, "no_show": 1,
              "rate": 1.0},
    "carter": {"attended": 1, "present": 1, "late": 0, "excused": 0, "absent": 0, "no_show": 1,
               "rate": 0.5},
}  # fmt: skip
EXPECTED_FLAGGED = {"able": True, "baker": False, "carter": True}
EXPECTED_SESSION_TOTALS = {
    "s1": {"attended": 2, "present": 1, "late": 1, "excused": 0, "absent": 0, "no_show": 1,
           "rate": 0.6667},
    "s2": {"attended": 0, "present": 0, "late": 0, "excused": 1, "absent": 1, "no_show": 2,
           "rate": 0.0},
    "s3": {"attended": 2, "present": 2, "late": 0, "excused": 0, "absent": 0, "no_show": 0,
           "rate": 1.0},
    "s5": {"attended": 0, "present": 0, "late": 0, "excused": 0, "absent": 0, "no_show": 0,
           "rate": None},
}  # fmt: skip


def register_url(world, **query):
    return reverse("semester-register", args=[world.semester.pk])


def test_the_api_register_matches_the_hand_computed_semester(world, token_client):
    response = token_client(world.staff).get(register_url(world))
    assert response.status_code == 200
    body = response.json()
    assert [session["title"] for session in body["sessions"]] == ["s1", "s2", "s3", "s5"]
    assert {row["username"]: row["cells"] for row in body["students"]} == EXPECTED_CELLS
    assert [row["username"] for row in body["students"]] == ["able", "baker", "carter"]
    assert {row["username"]: row["totals"] for row in body["students"]} == EXPECTED_TOTALS
    assert {row["username"]: row["flagged"] for row in body["students"]} == EXPECTED_FLAGGED
    assert {s["title"]: s["totals"] for s in body["sessions"]} == EXPECTED_SESSION_TOTALS
    assert body["warning_rate"] == 0.8


@override_settings(ATTENDANCE_WARNING_RATE=0.5)
def test_the_warning_rate_is_a_setting(world, token_client):
    body = token_client(world.staff).get(register_url(world)).json()
    # Carter's 0.5 is not under 0.5; Able's 0.6667 neither.
    assert {row["username"]: row["flagged"] for row in body["students"]} == {
        "able": False,
        "baker": False,
        "carter": False,
    }


class TableParser(HTMLParser):
    """The text of every row of table#register, header and footer included."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self.inside = False
        self.cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "table" and ("id", "register") in attrs:
            self.inside = True
        elif self.inside and tag == "tr":
            self.rows.append([])
        elif self.inside and tag in ("th", "td"):
            self.cell = []

    def handle_endtag(self, tag):
        if tag == "table":
            self.inside = False
        elif self.inside and tag in ("th", "td") and self.cell is not None:
            self.rows[-1].append("".join(self.cell).strip())
            self.cell = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)


def number(value: str):
    try:
        return float(value)
    except ValueError:
        return value


def test_page_csv_xlsx_and_api_agree_cell_for_cell(world, client, token_client):
    client.force_login(world.master)
    page = client.get(reverse("reports:register", args=[world.semester.pk]))
    assert page.status_code == 200
    parser = TableParser()
    parser.feed(page.content.decode())
    page_rows = parser.rows

    download = client.get(reverse("reports:register-csv", args=[world.semester.pk]))
    assert download["Content-Type"].startswith("text/csv")
    csv_rows = list(csv.reader(io.StringIO(download.content.decode())))

    workbook = load_workbook(
        io.BytesIO(client.get(reverse("reports:register-xlsx", args=[world.semester.pk])).content)
    )
    xlsx_rows = [
        [text(value) for value in row] for row in workbook.active.iter_rows(values_only=True)
    ]

    api = token_client(world.master).get(register_url(world), {"format": "csv"})
    assert api["Content-Type"].startswith("text/csv")
    api_csv_rows = list(csv.reader(io.StringIO(api.content.decode())))

    # The same numbers: a spreadsheet reads a rate of 1.0 back as 1, so compare values.
    tables = [[[number(v) for v in row] for row in t] for t in (page_rows, csv_rows, xlsx_rows)]
    assert tables[0] == tables[1] == tables[2]
    assert api_csv_rows == csv_rows
    # The JSON agrees with the table too: Able's row, cells then totals then rate.
    body = token_client(world.master).get(register_url(world)).json()
    able = next(row for row in body["students"] if row["username"] == "able")
    table_able = next(row for row in csv_rows if row[1] == "able")
    assert table_able[2:6] == able["cells"]
    totals = able["totals"]
    assert table_able[6:] == [
        *(str(totals[k]) for k in ("attended", "present", "late", "excused", "absent", "no_show")),
        f"{totals['rate']:.4f}",
        "yes",
    ]
    assert len(csv_rows) == 1 + 3 + 7  # header, three students, six totals and the rate


def test_a_coach_reads_and_downloads_only_the_sessions_they_teach(world, client):
    client.force_login(world.coach)
    parser = TableParser()
    parser.feed(client.get(reverse("reports:register", args=[world.semester.pk])).content.decode())
    download = client.get(reverse("reports:register-csv", args=[world.semester.pk]))
    csv_rows = list(csv.reader(io.StringIO(download.content.decode())))
    workbook = load_workbook(
        io.BytesIO(client.get(reverse("reports:register-xlsx", args=[world.semester.pk])).content)
    )
    xlsx_rows = [
        [text(value) for value in row] for row in workbook.active.iter_rows(values_only=True)
    ]
    tables = [[[number(v) for v in row] for row in t] for t in (parser.rows, csv_rows, xlsx_rows)]
    assert tables[0] == tables[1] == tables[2]
    # One session column (s3, the coach's), and the two students booked on it.
    header = csv_rows[0]
    assert header[:3] == ["Student", "Username", next(h for h in header[2:] if "s3" in h)]
    assert not any(title in cell for cell in header for title in ("s1", "s2", "s5"))
    assert [row[1] for row in csv_rows[1:3]] == ["able", "carter"]
    assert [row[2] for row in csv_rows[1:3]] == ["present", "present"]
    assert "baker" not in download.content.decode()


def test_a_student_name_cannot_smuggle_a_formula_into_the_downloads(world, client):
    world.able.first_name, world.able.last_name = "=HYPERLINK(1)", ""
    world.able.save()
    client.force_login(world.staff)
    download = client.get(reverse("reports:register-csv", args=[world.semester.pk]))
    assert "'=HYPERLINK(1)" in download.content.decode()
    workbook = load_workbook(
        io.BytesIO(client.get(reverse("reports:register-xlsx", args=[world.semester.pk])).content)
    )
    names = [row[0] for row in workbook.active.iter_rows(values_only=True)]
    assert "'=HYPERLINK(1)" in names


@pytest.mark.parametrize(
    ("who", "status", "students", "sessions"),
    [
        ("staff", 200, ["able", "baker", "carter"], ["s1", "s2", "s3", "s5"]),
        ("master", 200, ["able", "baker", "carter"], ["s1", "s2", "s3", "s5"]),
        # A coach sees the columns of the sessions they teach, and those sessions' students.
        ("coach", 200, ["able", "carter"], ["s3"]),
        ("outsider", 404, None, None),
        ("able", 404, None, None),
    ],
)
def test_who_sees_the_register(world, token_client, client, who, status, students, sessions):
    user = getattr(world, who)
    response = token_client(user).get(register_url(world))
    assert response.status_code == status
    client.force_login(user)
    assert client.get(reverse("reports:register", args=[world.semester.pk])).status_code == status
    assert (
        client.get(reverse("reports:register-xlsx", args=[world.semester.pk])).status_code == status
    )
    if status == 200:
        body = response.json()
        assert [row["username"] for row in body["students"]] == students
        assert [session["title"] for session in body["sessions"]] == sessions


@pytest.mark.parametrize("semester", ["999999", "99999999999999999999"])
def test_an_unknown_semester_is_a_404(world, token_client, client, semester):
    api = token_client(world.staff)
    assert api.get(f"/api/v1/semesters/{semester}/register/").status_code == 404
    client.force_login(world.staff)
    assert client.get(f"/reports/semesters/{semester}/register/").status_code == 404
    assert client.get(f"/reports/semesters/{semester}/dashboard/").status_code == 404


def test_the_group_filter_narrows_columns_and_rows(world, token_client):
    group = GroupFactory(semester=world.semester, members=[world.baker, StudentFactory()])
    session = SessionFactory(semester=world.semester, group=group, title="group session")
    BookingFactory(student=world.baker, session=session)
    body = token_client(world.staff).get(register_url(world), {"group": group.pk}).json()
    assert [s["title"] for s in body["sessions"]] == ["group session"]
    # Every member is a row, booked or not.
    assert len(body["students"]) == 2
    assert "booked" in next(r for r in body["students"] if r["username"] == "baker")["cells"]


@pytest.mark.parametrize("value", ["abc", "999999", "99999999999999999999", "-1", "other-semester"])
def test_a_bad_group_is_a_400_naming_the_field(world, token_client, client, value):
    if value == "other-semester":
        value = str(GroupFactory(semester=SemesterFactory()).pk)
    response = token_client(world.staff).get(register_url(world), {"group": value})
    assert response.status_code == 400
    assert "group" in response.json()
    client.force_login(world.staff)
    page = client.get(reverse("reports:register", args=[world.semester.pk]), {"group": value})
    assert page.status_code == 400


def test_an_unknown_specialization_is_a_400(world, token_client):
    response = token_client(world.staff).get(register_url(world), {"specialization": "NOPE"})
    assert response.status_code == 400
    assert "specialization" in response.json()


def test_csv_by_accept_header(world, token_client):
    response = token_client(world.staff).get(register_url(world), HTTP_ACCEPT="text/csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response.content.decode().splitlines()[0].startswith("Student,Username,")


def test_my_attendance_is_my_row_of_the_register(world, token_client):
    client = token_client(world.able)
    body = client.get("/api/v1/me/attendance/", {"semester": world.semester.pk}).json()
    assert [entry["status"] for entry in body["sessions"]] == EXPECTED_CELLS["able"]
    assert body["totals"] == EXPECTED_TOTALS["able"]
    assert body["flagged"] is True
    assert client.get("/api/v1/me/attendance/", {"semester": "x"}).status_code == 400
    assert client.get("/api/v1/me/attendance/", {"semester": "999999"}).status_code == 400
    huge = "99999999999999999999"
    assert client.get("/api/v1/me/attendance/", {"semester": huge}).status_code == 400
    # Another student's record is not theirs to read: Baker sees Baker's.
    baker = token_client(world.baker).get("/api/v1/me/attendance/").json()
    assert baker["totals"] == EXPECTED_TOTALS["baker"]


def grow(world, students: int, sessions: int) -> None:
    """More students and sessions, every cell kind present."""
    extra = [StudentFactory() for _ in range(students)]
    for n in range(sessions):
        start = timezone.now() - timedelta(days=1 + n % 30, hours=n)
        session = SessionFactory(
            semester=world.semester, date_start=start, date_end=start + timedelta(hours=1)
        )
        for index, student in enumerate(extra):
            BookingFactory(student=student, session=session)
            if index % 3:
                AttendanceFactory(
                    student=student, session=session, status=("present", "late", "absent")[n % 3]
                )


@pytest.mark.parametrize(("students", "sessions"), [(0, 0), (6, 4)])
def test_the_register_costs_the_same_queries_at_any_size(
    world, token_client, client, django_assert_num_queries, students, sessions
):
    grow(world, students, sessions)
    api = token_client(world.master)
    api.get(register_url(world))  # warm the token's user
    # token + user (1), semester (1), students (1), sessions (1), cells (1)
    with django_assert_num_queries(5):
        assert api.get(register_url(world)).status_code == 200
    client.force_login(world.master)
    # session + user (2), semester (1), students, sessions, cells (3),
    # the filter form's group and specialization choices (2), the navigation's
    # "New session" check (1)
    with django_assert_num_queries(9):
        page = client.get(reverse("reports:register", args=[world.semester.pk]))
    assert page.status_code == 200
    assert page.content.decode().count("data-student=") == 3 + students
    # The downloads: session + user (2), semester (1), students, sessions, cells (3)
    for name in ("reports:register-csv", "reports:register-xlsx"):
        with django_assert_num_queries(6):
            assert client.get(reverse(name, args=[world.semester.pk])).status_code == 200
