"""Each verb emails the right people, and nobody else, through the queue.

Everything goes through the API; the queue runs in this process (`run_tasks`).
"""

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from accounts.tests.factories import StudentFactory
from bookings.models import Booking
from bookings.services import book_session, grant_credits
from bookings.tests.factories import BookingFactory
from notifications.models import SentEmail
from scheduling.models import Session
from scheduling.tests.factories import SessionFactory

from .inbox import book, emails_to, html, only

pytestmark = pytest.mark.django_db

LINK = "https://meet.example.test/room"
TASK_TABLE = DBTaskResult._meta.db_table


def test_a_confirmed_booking_tells_the_student_when_and_where_in_the_academy_zone(
    token_client, student, semester, run_tasks, settings
):
    settings.TIME_ZONE = "America/New_York"
    ada = student(5, first_name="Ada", last_name="Lovelace")
    session = SessionFactory(semester=semester, title="Serve drills", credit_cost=2)

    book(token_client, ada, session)
    run_tasks()

    message = only(ada)
    local = timezone.localtime(session.date_start)
    stamp = f"{local:%a} {local.day} {local:%b %H:%M}"
    assert message.subject == f"Booked: Serve drills, {stamp}"
    assert "Hello Ada Lovelace," in message.body
    assert "2 credits were charged" in message.body
    assert f"{local:%H:%M}" in message.body and "America/New_York" in message.body
    assert semester.location in message.body and semester.location in html(message)
    assert "http://127.0.0.1:8000/account/notifications/" in message.body


def test_times_read_in_the_recipients_own_zone_when_it_differs_from_the_academys(
    token_client, student, semester, run_tasks, settings
):
    settings.TIME_ZONE = "Europe/Budapest"
    kenji = student(5)
    kenji.time_zone = "Asia/Tokyo"
    kenji.save(update_fields=["time_zone"])
    session = SessionFactory(semester=semester, title="Serve drills")

    book(token_client, kenji, session)
    run_tasks()

    message = only(kenji)
    tokyo = session.date_start.astimezone(ZoneInfo("Asia/Tokyo"))
    budapest = session.date_start.astimezone(ZoneInfo("Europe/Budapest"))
    assert tokyo.hour != budapest.hour
    assert message.subject.endswith(f"{tokyo:%a} {tokyo.day} {tokyo:%b %H:%M}")
    assert f"{tokyo:%H:%M}" in message.body and "Asia/Tokyo" in message.body
    assert "Europe/Budapest" not in message.body


def test_a_virtual_booking_carries_the_link_and_a_waitlisted_one_does_not(
    token_client, student, semester, run_tasks
):
    holder, waiting = student(), student()
    session = SessionFactory(
        semester=semester, session_type=Session.SessionType.VIRTUAL, capacity=1
    )

    book(token_client, holder, session)
    book(token_client, waiting, session)
    run_tasks()

    [confirmed] = emails_to(holder)
    [waitlisted] = emails_to(waiting)
    assert LINK in confirmed.body and LINK in html(confirmed)
    assert waitlisted.subject.startswith("On the waitlist (#1): ")
    assert "number 1 on its waitlist" in waitlisted.body
    assert LINK not in waitlisted.body and LINK not in html(waitlisted)
    assert len(mail.outbox) == 2


def test_a_freed_seat_tells_the_canceller_the_refund_and_the_promoted_the_charge(
    token_client, student, semester, run_tasks
):
    holder, waiting = student(3), student(3)
    session = SessionFactory(semester=semester, capacity=1, credit_cost=2)
    held = book(token_client, holder, session)
    book(token_client, waiting, session)
    run_tasks()
    mail.outbox.clear()

    response = token_client(holder).post(f"/api/v1/bookings/{held.pk}/cancel/")
    assert response.status_code == 200
    run_tasks()

    [cancelled] = emails_to(holder)
    [promoted] = emails_to(waiting)
    assert cancelled.subject.startswith("Booking cancelled: ")
    assert "2 credits were refunded" in cancelled.body
    assert promoted.subject.startswith("A seat freed up, you are in: ")
    assert "2 credits were charged; your balance is now 1." in promoted.body
    assert len(mail.outbox) == 2


def test_a_late_cancellation_says_there_is_no_refund(token_client, student, semester, run_tasks):
    ada = student(3)
    soon = SessionFactory(semester=semester, date_start=timezone.now() + timedelta(hours=5))
    booking = book(token_client, ada, soon)
    run_tasks()
    mail.outbox.clear()

    token_client(ada).post(f"/api/v1/bookings/{booking.pk}/cancel/")
    run_tasks()

    assert "No refund: within 24 h of the start." in only(ada).body


def test_staff_cancelling_a_booking_is_a_cancellation_by_the_academy(
    token_client, student, staff, semester, run_tasks
):
    ada = student(3)
    booking = book(token_client, ada, SessionFactory(semester=semester))
    run_tasks()
    mail.outbox.clear()

    token_client(staff).post(f"/api/v1/bookings/{booking.pk}/cancel/")
    run_tasks()

    message = only(ada)
    assert message.subject.startswith("The academy cancelled your booking: ")
    assert "1 credit was refunded" in message.body


def test_a_cancelled_session_tells_every_booked_student_once_in_one_insert(
    token_client, student, staff, semester, run_tasks
):
    session = SessionFactory(semester=semester, capacity=3, credit_cost=2)
    confirmed = [student(2) for _ in range(3)]
    waiting = student(2)
    gone = student(2)
    for user in [*confirmed, waiting, gone]:
        book(token_client, user, session)
    token_client(waiting).post(
        f"/api/v1/bookings/{Booking.objects.get(student=waiting).pk}/cancel/"
    )
    run_tasks()
    mail.outbox.clear()
    DBTaskResult.objects.all().delete()

    with CaptureQueriesContext(connection) as queries:
        response = token_client(staff).post(f"/api/v1/sessions/{session.pk}/cancel/")
    assert response.status_code == 200
    inserts = [
        q for q in queries.captured_queries if q["sql"].startswith(f'INSERT INTO "{TASK_TABLE}"')
    ]
    assert len(inserts) == 1
    run_tasks()

    for user in confirmed:
        [message] = emails_to(user)
        assert message.subject.startswith("Session cancelled: ")
        assert "2 credits were refunded in full" in message.body
    assert "Nothing had been charged" in emails_to(gone)[0].body
    assert emails_to(waiting) == []  # cancelled before: not booked any more
    assert len(mail.outbox) == 4


def test_a_moved_session_tells_the_booked_and_the_waitlisted_what_changed(
    token_client, student, staff, semester, run_tasks
):
    session = SessionFactory(
        semester=semester, capacity=1, session_type=Session.SessionType.VIRTUAL
    )
    holder, waiting, former = student(), student(), student()
    book(token_client, holder, session)
    book(token_client, waiting, session)
    left = book(token_client, former, session)
    token_client(former).post(f"/api/v1/bookings/{left.pk}/cancel/")
    run_tasks()
    mail.outbox.clear()
    new_start = session.date_start + timedelta(days=1, hours=2)

    response = token_client(staff).patch(
        f"/api/v1/sessions/{session.pk}/",
        {
            "date_start": new_start.isoformat(),
            "date_end": (new_start + timedelta(hours=1)).isoformat(),
            "meeting_link": "https://meet.example.test/new-room",
        },
        format="json",
    )
    assert response.status_code == 200, response.json()
    run_tasks()

    [to_holder] = emails_to(holder)
    [to_waiting] = emails_to(waiting)
    local = timezone.localtime(new_start)
    assert (
        to_holder.subject == f"Moved: {session.title}, now {local:%a} {local.day} {local:%b %H:%M}"
    )
    assert "Starts: was " in to_holder.body
    assert "https://meet.example.test/new-room" in to_holder.body
    assert "booked on" in to_holder.body and "on the waitlist of" in to_waiting.body
    for body in (to_waiting.body, html(to_waiting)):
        assert "meet.example.test" not in body
    assert emails_to(former) == []
    assert len(mail.outbox) == 2


def test_an_edit_nobody_is_told_about_sends_nothing(
    token_client, student, staff, semester, run_tasks
):
    session = SessionFactory(semester=semester)
    book(token_client, student(), session)
    run_tasks()
    mail.outbox.clear()

    token_client(staff).patch(f"/api/v1/sessions/{session.pk}/", {"capacity": 30}, format="json")
    run_tasks()

    assert mail.outbox == []


def test_a_credit_grant_is_told_unless_turned_off(token_client, staff, run_tasks):
    ada = StudentFactory()
    grace = StudentFactory(notify_credit_grants=False)

    for user in (ada, grace):
        response = token_client(staff).post(
            "/api/v1/credits/grant/",
            {"student": user.pk, "amount": 7, "note": "Prize"},
            format="json",
        )
        assert response.status_code == 201
    run_tasks()

    message = only(ada)
    assert message.subject == "7 credits added to your balance"
    assert "(Prize). Your balance is now 7." in message.body
    assert SentEmail.objects.get(recipient=grace).status == "skipped"


def test_waitlisted_people_may_turn_off_changes_but_booked_ones_are_always_told(
    token_client, student, staff, semester, run_tasks
):
    session = SessionFactory(semester=semester, capacity=1)
    holder = student(notify_waitlist_changes=False)
    waiting = student(notify_waitlist_changes=False)
    book(token_client, holder, session)
    book(token_client, waiting, session)
    run_tasks()
    mail.outbox.clear()

    token_client(staff).patch(
        f"/api/v1/sessions/{session.pk}/", {"location": "Court 7"}, format="json"
    )
    run_tasks()

    assert "Place: was Main campus, room 1, now Court 7" in only(holder).body


def test_nothing_is_enqueued_when_the_transaction_rolls_back(student, semester):
    ada = student(3)
    session = SessionFactory(semester=semester)
    before = DBTaskResult.objects.count()

    with pytest.raises(RuntimeError), transaction.atomic():
        book_session(student=ada, session=session, by=ada)
        # The email and the reminder's planning.
        assert DBTaskResult.objects.count() == before + 2
        raise RuntimeError("a later step of the same transaction failed")

    assert DBTaskResult.objects.count() == before
    assert not Booking.objects.exists()


def test_a_student_without_an_email_books_and_gets_nothing(
    token_client, staff, semester, run_tasks
):
    ada = StudentFactory(email="")
    grant_credits(student=ada, amount=2, by=staff)

    book(token_client, ada, SessionFactory(semester=semester))
    assert run_tasks() == 3  # grant email, booking email, reminder planning

    assert mail.outbox == []
    assert set(SentEmail.objects.values_list("status", flat=True)) == {"skipped"}


@pytest.mark.parametrize("booked", [1, 30])
def test_a_session_cancellation_enqueues_every_email_in_one_insert(
    token_client, staff, semester, booked
):
    session = SessionFactory(semester=semester, capacity=booked)
    BookingFactory.create_batch(booked, session=session)
    client = token_client(staff)
    before = DBTaskResult.objects.count()

    with CaptureQueriesContext(connection) as queries:
        response = client.post(f"/api/v1/sessions/{session.pk}/cancel/")

    assert response.status_code == 200
    table = f'INSERT INTO "{TASK_TABLE}"'
    assert [q["sql"].startswith(table) for q in queries.captured_queries].count(True) == 1
    assert DBTaskResult.objects.count() == before + booked


def test_a_title_with_a_line_break_still_makes_a_one_line_subject(
    token_client, student, semester, run_tasks
):
    ada = student()
    book(token_client, ada, SessionFactory(semester=semester, title="Serve\r\ndrills"))

    run_tasks()

    assert only(ada).subject.startswith("Booked: Serve drills, ")
