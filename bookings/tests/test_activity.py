"""The activity channel as the booking engine and the other services feed it (issue 14)."""

import threading

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.dateparse import parse_datetime

from accounts.tests.factories import StaffFactory, StudentFactory
from activity import subscribers
from activity.models import Activity
from bookings.models import Booking
from bookings.services import (
    book_session,
    cancel_booking,
    cancel_session,
    grant_credits,
    session_update,
)
from config.atomic import service_transaction
from config.errors import Busy, Conflict
from engagement.services import attendance_record, feedback_give
from scheduling.access import lock_session
from scheduling.services import semester_update, session_create, session_delete
from scheduling.tests.factories import PastSessionFactory, SemesterFactory, SessionFactory

pytestmark = pytest.mark.django_db

ACTIVITY_INSERT = 'INSERT INTO "activity_activity"'


def verbs_of(**filters) -> list[str]:
    return list(Activity.objects.filter(**filters).order_by("id").values_list("verb", flat=True))


def last(verb: str) -> Activity:
    return Activity.objects.filter(verb=verb).latest("id")


def test_each_service_records_its_verb_with_actor_and_data(funded_student, staff):
    """One walk through the services, each checked for its verb, actor, subjects and data."""
    semester = SemesterFactory()
    master = semester.master_instructor
    session = session_create(
        by=master,
        semester=semester,
        title="Serve drills",
        instructor=master,
        date_start=SessionFactory.build().date_start,
        date_end=SessionFactory.build().date_end,
        capacity=1,
        credit_cost=2,
    )
    created = last("session.created")
    assert (created.actor, created.session_id, created.data["title"]) == (
        master,
        session.pk,
        "Serve drills",
    )
    assert set(created.data) == {"title", "date_start"}
    assert parse_datetime(created.data["date_start"]) == session.date_start

    first, second = funded_student(2), funded_student(5)
    confirmed = book_session(student=first, session=session, by=first)
    waiting = book_session(student=second, session=session, by=second)
    entry = last("booking.confirmed")
    assert (entry.actor, entry.student, entry.target_id) == (first, first, confirmed.pk)
    assert entry.data == {"credits_charged": 2}
    entry = last("booking.waitlisted")
    assert (entry.actor, entry.student, entry.data) == (second, second, {"waitlist_position": 1})

    session_update(session=session, by=master, title="Serve and volley", credit_cost=2)
    entry = last("session.updated")
    # Only what changed: the cost was given but did not change.
    assert entry.actor == master
    assert entry.data == {"changes": {"title": ["Serve drills", "Serve and volley"]}}

    cancel_booking(booking=confirmed, by=staff)
    cancelled, promoted = last("booking.cancelled"), last("booking.promoted")
    assert cancelled.actor == staff
    assert cancelled.data == {"credits_refunded": 2, "cancelled_by": "staff", "was": "confirmed"}
    assert (promoted.actor, promoted.student, promoted.target_id) == (None, second, waiting.pk)
    assert promoted.session_id == session.pk
    assert promoted.data == {"credits_charged": 2, "balance_after": 3}

    cancel_booking(booking=waiting, by=second)
    entry = last("booking.cancelled")
    assert (entry.actor, entry.student) == (second, second)
    assert entry.data == {"credits_refunded": 2, "cancelled_by": "student", "was": "confirmed"}

    grant = grant_credits(student=first, amount=4, note="Bonus", by=staff)
    entry = last("credits.granted")
    assert (entry.actor, entry.student, entry.target_id) == (staff, first, grant.pk)
    assert entry.data == {"amount": 4, "note": "Bonus"}

    semester_update(semester=semester, by=staff, name="Renamed")
    entry = last("semester.updated")
    assert entry.data == {"changes": {"name": [f"Semester {semester.code}", "Renamed"]}}

    past = PastSessionFactory(semester=semester, instructor=master)
    past_booking = Booking.objects.create(
        student=first, session=past, status=Booking.Status.CONFIRMED
    )
    attendance_record(session=past, student=first, status="late", by=master)
    attendance_record(session=past, student=first, status="present", by=staff)
    assert verbs_of(session_id=past.pk) == ["attendance.recorded", "attendance.corrected"]
    assert last("attendance.corrected").data == {"old": "late", "new": "present"}
    assert last("attendance.corrected").actor == staff
    feedback_give(session=past, student=first, rating=5)
    entry = last("feedback.given")
    assert (entry.actor, entry.student, entry.data) == (first, first, {"rating": 5})
    assert past_booking.pk

    spare = SessionFactory(semester=semester)
    spare_id = spare.pk
    session_delete(session=spare, by=staff)
    assert verbs_of(session_id=spare_id) == ["session.deleted"]
    deleted = last("session.deleted").data
    assert (deleted["title"], parse_datetime(deleted["date_start"])) == (
        spare.title,
        spare.date_start,
    )


def test_session_cancellation_records_one_plus_n_in_one_insert(
    funded_student, staff, django_assert_num_queries
):
    session = SessionFactory(capacity=30, credit_cost=2)
    students = [funded_student(2) for _ in range(30)]
    for student in students:
        book_session(student=student, session=session, by=student)
    before = Activity.objects.count()

    with CaptureQueriesContext(connection) as captured:
        cancel_session(session=session, by=staff)

    inserts = [q for q in captured.captured_queries if q["sql"].startswith(ACTIVITY_INSERT)]
    assert len(inserts) == 1
    rows = Activity.objects.filter(session_id=session.pk, id__gt=0).order_by("id")
    assert Activity.objects.count() - before == 31
    summary = rows.filter(verb="session.cancelled").get()
    assert summary.data == {"bookings_cancelled": 30, "credits_refunded": 60}
    cancelled = rows.filter(verb="booking.cancelled")
    assert {a.student_id for a in cancelled} == {s.pk for s in students}
    assert {a.data["cancelled_by"] for a in cancelled} == {"session_cancelled"}
    assert {a.data["credits_refunded"] for a in cancelled} == {2}


def test_promoted_students_of_a_cancelled_booking_each_get_their_charge(funded_student):
    session = SessionFactory(capacity=2, credit_cost=3)
    holders = [funded_student(3) for _ in range(2)]
    bookings = [book_session(student=s, session=session, by=s) for s in holders]
    waiting = [funded_student(3), funded_student(7)]
    for student in waiting:
        book_session(student=student, session=session, by=student)

    cancel_booking(booking=bookings[0], by=holders[0])
    promoted = Activity.objects.filter(verb="booking.promoted")
    assert [(a.student_id, a.data) for a in promoted] == [
        (waiting[0].pk, {"credits_charged": 3, "balance_after": 0})
    ]
    cancel_booking(booking=bookings[1], by=holders[1])
    assert [(a.student_id, a.data) for a in promoted.order_by("id")] == [
        (waiting[0].pk, {"credits_charged": 3, "balance_after": 0}),
        (waiting[1].pk, {"credits_charged": 3, "balance_after": 4}),
    ]


def test_a_refused_booking_records_nothing_and_notifies_nobody(
    funded_student, django_capture_on_commit_callbacks
):
    received = []
    subscribers.subscribe("*", received.append)
    try:
        session = SessionFactory(credit_cost=5)
        poor = funded_student(1)
        with (
            django_capture_on_commit_callbacks(execute=True),
            pytest.raises(Conflict, match="balance is too low"),
        ):
            book_session(student=poor, session=session, by=poor)
    finally:
        subscribers.unsubscribe(received.append)
    assert received == []
    assert not Activity.objects.filter(session_id=session.pk).exists()


def test_an_idempotent_replay_records_nothing_new(token_client, funded_student):
    session = SessionFactory()
    student = funded_student(5)
    client = token_client(student)
    headers = {"Idempotency-Key": "book-once"}
    first = client.post(
        "/api/v1/bookings/", {"session": session.pk}, format="json", headers=headers
    )
    recorded = Activity.objects.count()
    again = client.post(
        "/api/v1/bookings/", {"session": session.pk}, format="json", headers=headers
    )
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert Activity.objects.count() == recorded
    assert verbs_of(session_id=session.pk) == ["booking.confirmed"]


def test_a_raising_subscriber_changes_neither_the_response_nor_the_data(
    token_client, funded_student, django_capture_on_commit_callbacks
):
    def explode(activity):
        raise RuntimeError("webhook endpoint down")

    subscribers.subscribe("booking.*", explode)
    try:
        session = SessionFactory()
        student = funded_student(5)
        with django_capture_on_commit_callbacks(execute=True):
            response = token_client(student).post(
                "/api/v1/bookings/", {"session": session.pk}, format="json"
            )
    finally:
        subscribers.unsubscribe(explode)
    assert response.status_code == 201
    assert response.json()["status"] == "confirmed"
    assert Booking.objects.get(session=session).status == Booking.Status.CONFIRMED
    assert verbs_of(session_id=session.pk) == ["booking.confirmed"]


def _fill_history(session, rows: int) -> None:
    student, staff = StudentFactory(), StaffFactory()
    Activity.objects.bulk_create(
        Activity(
            actor=staff,
            student=student,
            verb="session.updated",
            target_type="scheduling.session",
            target_id=session.pk,
            session_id=session.pk,
            data={"changes": {"capacity": [n, n + 1]}},
        )
        for n in range(rows)
    )


@pytest.mark.parametrize("rows", [10, 1000])
def test_history_reads_cost_the_same_at_every_size(
    rows, token_client, client, django_assert_num_queries
):
    session = SessionFactory()
    _fill_history(session, rows)
    staff = StaffFactory()
    api = token_client(staff)

    # 1 token + user, 1 newest matching row (the ETag), 1 page of activities with actor
    # and student joined.
    with django_assert_num_queries(3):
        response = api.get(f"/api/v1/activity/?session={session.pk}")
    assert len(response.json()["results"]) == 10 if rows == 10 else 50

    # 1 token + user, 1 session with its semester (who may see it), 1 page.
    with django_assert_num_queries(3):
        response = api.get(f"/api/v1/sessions/{session.pk}/history/")
    assert response.status_code == 200
    assert response.json()["results"][0]["data"] == {"changes": {"capacity": [rows - 1, rows]}}

    client.force_login(staff)
    url = reverse("admin:activity_activity_changelist") + f"?session_id={session.pk}"
    # 1 django session, 1 user, 1 the actors the actor filter offers, 1 count of the
    # filtered rows, 1 the page (its ids chosen in a subquery) with its users, and the
    # date hierarchy's 1 first/last date and 1 distinct days.
    with django_assert_num_queries(7):
        page = client.get(url)
    assert page.status_code == 200


def test_a_student_gets_404_on_a_session_history(token_client):
    session = SessionFactory()
    _fill_history(session, 3)
    response = token_client(StudentFactory()).get(f"/api/v1/sessions/{session.pk}/history/")
    assert response.status_code == 404
    other = SessionFactory()
    response = token_client(other.instructor).get(f"/api/v1/sessions/{session.pk}/history/")
    assert response.status_code == 404
    response = token_client(session.instructor).get(f"/api/v1/sessions/{session.pk}/history/")
    assert response.status_code == 200
    assert len(response.json()["results"]) == 3


def test_history_links_and_card(client, staff):
    session = SessionFactory()
    session_update(session=session, by=staff, title="Renamed for the card")
    client.force_login(staff)
    response = client.get(reverse("admin:scheduling_session_history", args=[session.pk]))
    assert response.status_code == 302
    assert response["Location"].endswith(f"?session_id={session.pk}")
    assert "Renamed for the card" in client.get(response["Location"]).content.decode()
    response = client.get(reverse("admin:accounts_user_history", args=[staff.pk]))
    assert response["Location"].endswith(f"?user={staff.pk}")
    assert "session.updated" in client.get(response["Location"]).content.decode()

    client.force_login(session.instructor)
    page = client.get(reverse("instructor:session-detail", args=[session.pk]))
    assert "Renamed for the card" in page.content.decode()
    assert 'id="history"' in page.content.decode()


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL's lock_timeout")
def test_a_lock_timeout_records_nothing_and_notifies_nobody(settings, staff):
    settings.BOOKING_LOCK_TIMEOUT_MS = 100
    session = SessionFactory()
    locked, release = threading.Event(), threading.Event()

    def hold_the_lock() -> None:
        try:
            with service_transaction():
                lock_session(session.pk)
                locked.set()
                release.wait(5)
        finally:
            connections.close_all()

    holder = threading.Thread(target=hold_the_lock)
    holder.start()
    received: list = []
    subscribers.subscribe("*", received.append)
    try:
        assert locked.wait(5)
        with pytest.raises(Busy):
            cancel_session(session=session, by=staff)
    finally:
        release.set()
        holder.join()
        subscribers.unsubscribe(received.append)
    assert received == []
    assert not Activity.objects.filter(session_id=session.pk).exists()
