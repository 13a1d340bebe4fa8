"""Query budgets of the session endpoints (SPEC §8): constant at every size and page."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.tests.factories import InstructorFactory, StaffFactory, StudentFactory
from bookings.tests.factories import BookingFactory
from engagement.tests.factories import AttendanceFactory, FeedbackFactory
from scheduling.models import Session
from scheduling.tests.api_world import build_world, session_payload
from scheduling.tests.factories import PastSessionFactory, SemesterFactory, SessionFactory

pytestmark = pytest.mark.django_db

LIST = "/api/v1/sessions/"


def _busy_sessions(size: int, student=None) -> None:
    """`size` sessions, each with a confirmed booking, an attendance row and a feedback."""
    semester = SemesterFactory()
    for session in PastSessionFactory.create_batch(size, semester=semester, capacity=5):
        booking = BookingFactory(session=session, **({"student": student} if student else {}))
        AttendanceFactory(session=session, student=booking.student)
        FeedbackFactory(session=session, student=booking.student)


@pytest.mark.parametrize("size", [1, 10, 100])
@pytest.mark.parametrize("viewer", ["staff", "student"])
def test_the_list_costs_three_queries_at_every_size(
    token_client, django_assert_num_queries, size, viewer
):
    # The student holds every booking, so each session is visible to them through the
    # "booked" EXISTS and shows the meeting-link EXISTS: both in the page statement.
    user = StaffFactory() if viewer == "staff" else StudentFactory()
    _busy_sessions(size, student=user if viewer == "student" else None)
    client = token_client(user)

    # 1: token and user (one JOIN); 2: COUNT(*) without statistics, with the newest
    # updated_at and activity id (the ETag, config/sync.py); 3: the page with
    # its statistics, instructor, specialization and semester in one statement.
    with django_assert_num_queries(3):
        response = client.get(f"{LIST}?page_size=500")

    assert response.status_code == 200
    assert response.json()["count"] == size
    assert all(row["feedback_count"] == 1 for row in response.json()["results"])


@pytest.mark.parametrize("viewer", ["staff", "student"])
def test_a_late_page_costs_what_the_first_page_costs(
    token_client, django_assert_num_queries, viewer
):
    user = StaffFactory() if viewer == "staff" else StudentFactory()
    _busy_sessions(100, student=user if viewer == "student" else None)
    client = token_client(user)

    with django_assert_num_queries(3):
        first = client.get(f"{LIST}?page_size=10&page=1")
    with django_assert_num_queries(3):
        late = client.get(f"{LIST}?page_size=10&page=9")

    assert len(first.json()["results"]) == len(late.json()["results"]) == 10
    assert not {row["id"] for row in first.json()["results"]} & {
        row["id"] for row in late.json()["results"]
    }


def test_the_page_statement_computes_statistics_for_the_page_ids_only(token_client):
    _busy_sessions(30)
    client = token_client(StaffFactory())

    with CaptureQueriesContext(connection) as captured:
        client.get(f"{LIST}?page_size=10&page=2")

    count_sql, page_sql = (query["sql"] for query in captured.captured_queries[1:])
    # The count carries no statistics; the page picks its ids first (LIMIT/OFFSET over
    # ids) and only then computes the correlated statistics for those rows.
    assert '"bookings_booking"' not in count_sql
    # On PostgreSQL the ids are an array, so that each is one primary-key probe
    # (config.pagination.InPage); elsewhere a plain IN (subquery).
    membership = " = ANY(ARRAY(SELECT " if connection.vendor == "postgresql" else " IN (SELECT "
    outer, _, ids = page_sql.partition(membership)
    assert '"bookings_booking"' in outer
    assert "LIMIT 10" in ids
    assert "OFFSET 10" in ids
    assert '"bookings_booking"' not in ids


@pytest.mark.parametrize("size", [1, 10])
def test_an_instructor_reads_links_of_a_list_without_a_query_per_row(
    token_client, django_assert_num_queries, size
):
    """Only students book: an instructor's rows carry a constant "no booking" rather
    than nothing, so the meeting-link check never asks the database row by row."""
    SessionFactory.create_batch(size, session_type=Session.SessionType.VIRTUAL)
    client = token_client(InstructorFactory())

    with django_assert_num_queries(3):
        response = client.get(f"{LIST}?page_size=500")

    rows = response.json()["results"]
    assert len(rows) == size
    assert all(row["meeting_link"] is None for row in rows)


@pytest.mark.parametrize(
    ("make_viewer", "checks_bookings"),
    [(StaffFactory, False), (InstructorFactory, False), (StudentFactory, True)],
)
def test_only_a_students_page_statement_asks_for_their_bookings(
    token_client, make_viewer, checks_bookings
):
    """Staff and instructors see every session and never book: no EXISTS per row."""
    viewer = make_viewer()
    BookingFactory(student=viewer if checks_bookings else StudentFactory())
    client = token_client(viewer)

    with CaptureQueriesContext(connection) as captured:
        assert client.get(LIST).json()["count"] == 1

    page_sql = captured.captured_queries[-1]["sql"]
    assert ("EXISTS" in page_sql) is checks_bookings


def _semester_reads(captured: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in captured.captured_queries if '"scheduling_semester"' in q["sql"]]


def test_creating_a_session_reads_the_semester_once(token_client, django_assert_num_queries):
    world = build_world()
    client = token_client(world.master)
    # Savepoint + release; on PostgreSQL also SET LOCAL lock_timeout and the location's
    # advisory lock (scheduling/conflicts.py).
    transaction_overhead = 4 if connection.vendor == "postgresql" else 2

    # 1 token+user, 1 semester (the serializer's id lookup), 1 instructor; the service's
    # savepoint + release (and, on PostgreSQL, SET LOCAL lock_timeout); 1 lock of the
    # instructor's row + 1 conflict query; 1 INSERT; 1 INSERT of the session.created
    # activity (which also asks whether a webhook endpoint is active); 1 statistics of the
    # new row (which does not touch the semester table).
    with django_assert_num_queries(8 + transaction_overhead) as captured:
        response = client.post(LIST, session_payload(world))

    assert response.status_code == 201
    semester_reads = _semester_reads(captured)
    assert len(semester_reads) == 1
    assert semester_reads[0].lstrip().upper().startswith("SELECT")
    assert Session.objects.get(pk=response.json()["id"]).semester_id == world.semester.pk


def test_updating_a_session_reads_the_semester_once(token_client):
    world = build_world()
    client = token_client(world.master)

    with CaptureQueriesContext(connection) as captured:
        response = client.patch(f"{LIST}{world.session.pk}/", {"title": "Renamed"})

    assert response.status_code == 200
    # Joined into the statement that fetches the session (visibility + statistics).
    assert len(_semester_reads(captured)) == 1
