"""Reminders: a task due a lead time before the start, that checks the state when it runs."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from notifications.models import SentEmail
from scheduling.models import Session
from scheduling.tests.factories import SessionFactory

from .inbox import book, emails_to, only

pytestmark = pytest.mark.django_db

MINUTE = timedelta(minutes=1)
DAY = timedelta(hours=24)


def reminders() -> list[DBTaskResult]:
    return list(
        DBTaskResult.objects.filter(task_path="notifications.tasks.send_reminder").order_by(
            "run_after"
        )
    )


def move(token_client, staff, session, start):
    response = token_client(staff).patch(
        f"/api/v1/sessions/{session.pk}/",
        {"date_start": start.isoformat(), "date_end": (start + timedelta(hours=1)).isoformat()},
        format="json",
    )
    assert response.status_code == 200, response.json()


def test_a_confirmed_seat_is_reminded_a_day_before_with_the_link(
    token_client,
    student,
    semester,
    run_tasks,
    clock,
):
    ada = student()
    session = SessionFactory(semester=semester, session_type=Session.SessionType.VIRTUAL)
    book(token_client, ada, session)
    run_tasks()
    mail.outbox.clear()

    [reminder] = reminders()
    assert reminder.run_after == session.date_start - DAY
    clock(session.date_start - DAY - MINUTE)
    assert run_tasks() == 0
    clock(session.date_start - DAY + MINUTE)
    assert run_tasks() == 1

    message = only(ada)
    assert message.subject.startswith(f"Reminder: {session.title}, ")
    assert "https://meet.example.test/room" in message.body


def test_a_moved_session_reminds_at_its_new_time_only(
    token_client,
    student,
    staff,
    semester,
    run_tasks,
    clock,
):
    ada = student()
    session = SessionFactory(semester=semester)
    old_start = session.date_start
    new_start = old_start + timedelta(days=2, hours=3)
    book(token_client, ada, session)
    run_tasks()
    move(token_client, staff, session, new_start)
    run_tasks()
    mail.outbox.clear()
    assert [row.run_after for row in reminders()] == [old_start - DAY, new_start - DAY]

    clock(old_start - DAY + MINUTE)
    run_tasks()
    assert mail.outbox == []
    clock(new_start - DAY + MINUTE)
    run_tasks()

    local = timezone.localtime(new_start)
    assert only(ada).subject.endswith(f"{local:%a} {local.day} {local:%b %H:%M}")


def test_a_session_moved_away_and_back_reminds_once(
    token_client,
    student,
    staff,
    semester,
    run_tasks,
    clock,
):
    ada = student()
    session = SessionFactory(semester=semester)
    start = session.date_start
    book(token_client, ada, session)
    move(token_client, staff, session, start + DAY)
    move(token_client, staff, session, start)
    run_tasks()
    mail.outbox.clear()

    clock(start + DAY)
    run_tasks()

    assert [m.subject.startswith("Reminder: ") for m in mail.outbox] == [True]


@pytest.mark.parametrize("how", ["booking", "session"])
def test_a_cancelled_booking_or_session_reminds_nobody(
    token_client,
    student,
    staff,
    semester,
    run_tasks,
    clock,
    how,
):
    ada = student()
    session = SessionFactory(semester=semester)
    booking = book(token_client, ada, session)
    run_tasks()
    if how == "booking":
        token_client(ada).post(f"/api/v1/bookings/{booking.pk}/cancel/")
    else:
        token_client(staff).post(f"/api/v1/sessions/{session.pk}/cancel/")
    run_tasks()
    mail.outbox.clear()

    clock(session.date_start - DAY + MINUTE)
    run_tasks()

    assert mail.outbox == []


def test_reminders_turned_off_are_not_sent(token_client, student, semester, run_tasks, clock):
    ada = student(notify_reminders=False)
    session = SessionFactory(semester=semester)
    book(token_client, ada, session)
    run_tasks()
    mail.outbox.clear()

    clock(session.date_start - DAY + MINUTE)
    run_tasks()

    assert emails_to(ada) == []
    assert SentEmail.objects.get(kind="reminder").status == "skipped"


def test_the_lead_is_a_setting_and_a_seat_taken_inside_it_gets_no_reminder(
    token_client,
    student,
    semester,
    run_tasks,
    settings,
):
    settings.REMINDER_LEAD_HOURS = 2
    later = SessionFactory(semester=semester, date_start=timezone.now() + timedelta(hours=5))
    soon = SessionFactory(semester=semester, date_start=timezone.now() + timedelta(minutes=90))
    book(token_client, student(), later)
    book(token_client, student(), soon)
    run_tasks()

    assert [row.run_after for row in reminders()] == [later.date_start - timedelta(hours=2)]
