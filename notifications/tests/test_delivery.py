"""Delivery over real SMTP (aiosmtpd on loopback): once, retried, bounded, recorded.

Driven through "Forgot your password?", the one email anybody can ask for.
"""

import re
import smtplib
from datetime import timedelta
from io import StringIO

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone
from django_tasks_db.compat import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from accounts.tests.factories import StaffFactory, StudentFactory
from bookings.services import grant_credits
from config.outbox import Call, enqueue_calls
from notifications.models import SentEmail
from notifications.tasks import send_activity_email, send_password_reset

pytestmark = pytest.mark.django_db

RESET_URL = "/accounts/password_reset/"


def ask_reset(client, email: str):
    return client.post(RESET_URL, {"email": email})


def test_a_reset_email_crosses_a_real_smtp_server_and_its_link_works(
    client, smtp_server, run_tasks, settings
):
    settings.SITE_URL = "https://practica.example"
    student = StudentFactory(email="ada@example.test", first_name="Ada", last_name="Lovelace")

    response = ask_reset(client, "ada@example.test")

    assert response.status_code == 302
    assert smtp_server.envelopes == []  # queued, not sent by the request
    assert run_tasks() == 1
    [envelope] = smtp_server.envelopes
    assert envelope.rcpt_tos == ["ada@example.test"]
    [message] = smtp_server.messages
    assert message["Subject"] == "Reset your Practica password"
    assert message["Message-ID"].endswith("@practica.example>")
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "Hello Ada Lovelace," in text and "Hello Ada Lovelace," in html
    assert "https://practica.example/account/notifications/" in text  # the footer
    link = re.search(r"https://practica\.example(/accounts/reset/\S+/)", text).group(1)
    assert link in html
    form = client.get(link, follow=True)
    assert form.status_code == 200 and form.context["validlink"]
    done = client.post(
        form.redirect_chain[-1][0],
        {"new_password1": "Zebra-cart-17", "new_password2": "Zebra-cart-17"},
    )
    assert done.status_code == 302
    student.refresh_from_db()
    assert student.check_password("Zebra-cart-17")
    record = SentEmail.objects.get()
    assert (record.status, record.attempts, record.to_address) == ("sent", 1, "ada@example.test")


def test_an_unknown_address_gets_the_same_answer_and_no_task(client):
    StudentFactory(email="ada@example.test")

    response = ask_reset(client, "nobody@example.test")

    assert response.status_code == 302
    assert not DBTaskResult.objects.exists()


def test_the_login_page_links_to_the_reset(client):
    assert RESET_URL in client.get("/accounts/login/").content.decode()


def test_a_server_that_refuses_twice_then_accepts_gets_the_email_exactly_once(
    client, smtp_server, run_tasks, settings
):
    settings.EMAIL_RETRY_BASE_SECONDS = 0  # retries due at once, so one batch runs them all
    StudentFactory(email="ada@example.test")
    smtp_server.refuse = 2

    ask_reset(client, "ada@example.test")
    ran = run_tasks()

    assert (ran, smtp_server.refused, len(smtp_server.envelopes)) == (3, 2, 1)
    record = SentEmail.objects.get()
    assert (record.status, record.attempts, record.last_error) == ("sent", 3, "")
    assert [row.status for row in DBTaskResult.objects.all()] == [TaskResultStatus.SUCCESSFUL] * 3


def test_retries_wait_longer_each_time(client, smtp_server, run_tasks, settings):
    settings.EMAIL_RETRY_BASE_SECONDS = 60
    StudentFactory(email="ada@example.test")
    smtp_server.refuse = 1

    ask_reset(client, "ada@example.test")
    run_tasks()

    first, retry = DBTaskResult.objects.order_by("enqueued_at")
    assert retry.status == TaskResultStatus.READY
    assert retry.args_kwargs["kwargs"]["attempt"] == 2
    assert 59 <= (retry.run_after - first.finished_at).total_seconds() <= 61
    assert SentEmail.objects.get().status == "pending"


def test_giving_up_is_bounded_and_recorded(client, smtp_server, run_tasks, settings):
    settings.EMAIL_RETRY_BASE_SECONDS = 0
    settings.EMAIL_MAX_ATTEMPTS = 3
    StudentFactory(email="ada@example.test")
    smtp_server.refuse = 10

    ask_reset(client, "ada@example.test")
    ran = run_tasks()

    assert (ran, smtp_server.refused, smtp_server.envelopes) == (3, 3, [])
    record = SentEmail.objects.get()
    assert record.status == "failed" and record.attempts == 3
    assert "451" in record.last_error
    statuses = [row.status for row in DBTaskResult.objects.order_by("enqueued_at")]
    assert statuses == [TaskResultStatus.SUCCESSFUL] * 2 + [TaskResultStatus.FAILED]


def test_a_permanent_refusal_is_not_retried(client, run_tasks, settings, monkeypatch):
    def refuse(*args, **kwargs):
        raise smtplib.SMTPRecipientsRefused({"ada@example.test": (550, b"No such user")})

    monkeypatch.setattr("django.core.mail.backends.locmem.EmailBackend.send_messages", refuse)
    StudentFactory(email="ada@example.test")

    ask_reset(client, "ada@example.test")

    assert run_tasks() == 1
    assert SentEmail.objects.get().status == "failed"


def test_a_task_run_again_after_a_crash_sends_nothing_twice(client, smtp_server, run_tasks):
    StudentFactory(email="ada@example.test")
    ask_reset(client, "ada@example.test")
    run_tasks()
    # A worker killed after sending, before marking its task finished: the row is run again.
    DBTaskResult.objects.update(status=TaskResultStatus.READY, finished_at=None)

    assert run_tasks() == 1
    assert len(smtp_server.envelopes) == 1


def test_a_user_without_an_email_gets_none_and_nothing_fails(run_tasks):
    student = StudentFactory(email="")
    with transaction.atomic():
        enqueue_calls(
            [
                Call(
                    send_password_reset,
                    {
                        "user_id": student.pk,
                        "request_id": "r1",
                        "requested_at": "2026-01-01T00:00:00+00:00",
                    },
                )
            ]
        )

    assert run_tasks() == 1
    assert mail.outbox == []
    assert SentEmail.objects.get().status == "skipped"
    assert DBTaskResult.objects.get().status == TaskResultStatus.SUCCESSFUL


def test_a_worker_killed_mid_batch_loses_nothing_and_sends_nothing_twice(
    run_tasks, settings, monkeypatch
):
    staff = StaffFactory()
    students = StudentFactory.create_batch(4)
    for student in students:
        grant_credits(student=student, amount=1, by=staff)
    first, sent, cut, _never_started = DBTaskResult.objects.order_by("enqueued_at", "id")
    # The batch as a SIGKILL leaves it: `first` finished; `sent` was sent and committed
    # but its task never marked; `cut` died inside the SMTP conversation (its email
    # transaction rolled back); the last never started.
    DBTaskResult.objects.filter(pk=first.pk).update(status=TaskResultStatus.SUCCESSFUL)
    send_activity_email.call(**first.args_kwargs["kwargs"])
    send_activity_email.call(**sent.args_kwargs["kwargs"])
    long_ago = timezone.now() - timedelta(hours=1)
    DBTaskResult.objects.filter(pk__in=[sent.pk, cut.pk]).update(
        status=TaskResultStatus.RUNNING, started_at=long_ago
    )
    assert len(mail.outbox) == 2

    call_command("requeue_stale_tasks", stdout=StringIO())
    assert run_tasks() == 3

    assert sorted(message.to[0] for message in mail.outbox) == sorted(s.email for s in students)
    assert set(DBTaskResult.objects.values_list("status", flat=True)) == {
        TaskResultStatus.SUCCESSFUL
    }


def test_a_task_running_on_a_live_worker_is_not_requeued(run_tasks):
    DBTaskResult.objects.create(
        args_kwargs={"args": [], "kwargs": {}},
        task_path="notifications.tasks.schedule_reminder",
        backend_name="default",
        status=TaskResultStatus.RUNNING,
        started_at=timezone.now(),
    )

    call_command("requeue_stale_tasks", stdout=StringIO())

    assert DBTaskResult.objects.get().status == TaskResultStatus.RUNNING
