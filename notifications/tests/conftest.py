"""The queue run in this process, a clock to move, and a real SMTP server on loopback."""

import socket
from collections.abc import Callable, Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from django.core import mail
from django_tasks_db.management.commands import db_worker
from django_tasks_db.models import DBTaskResult

from accounts.tests.factories import InstructorFactory, StaffFactory, StudentFactory
from bookings.services import grant_credits
from scheduling.tests.factories import SemesterFactory


@pytest.fixture
def run_tasks(monkeypatch: pytest.MonkeyPatch) -> Callable[[], int]:
    """Run every due task as `manage.py db_worker --batch` does (its own Worker class,
    claiming rows the same way); returns how many ran.

    The worker closes stale connections between tasks, which inside a test's
    transaction would throw the test's data away: that call alone is disabled.
    """
    monkeypatch.setattr(db_worker, "close_old_connections", lambda: None)

    def run() -> int:
        worker = db_worker.Worker(
            queue_names=["*"],
            interval=0,
            batch=True,
            backend_name="default",
            startup_delay=False,
            max_tasks=None,
            worker_id="test-worker",
            excluded_queue_names=[],
        )
        worker.run()
        return worker._run_tasks

    return run


@pytest.fixture
def task_rows() -> Callable[[], list[DBTaskResult]]:
    def rows() -> list[DBTaskResult]:
        return list(DBTaskResult.objects.order_by("enqueued_at", "id"))

    return rows


class Mailbox:
    """An aiosmtpd handler: answers `refuse` 451s first, then accepts and keeps each mail."""

    def __init__(self) -> None:
        self.refuse = 0
        self.refused = 0
        self.envelopes: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refuse > 0:
            self.refuse -= 1
            self.refused += 1
            return "451 4.3.0 Try again later"
        self.envelopes.append(envelope)
        return "250 2.0.0 Accepted"

    @property
    def messages(self) -> list[EmailMessage]:
        return [
            message_from_bytes(envelope.original_content, policy=policy.default)
            for envelope in self.envelopes
        ]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_server(settings: Any) -> Iterator[Mailbox]:
    """A real SMTP server on loopback; Django's SMTP backend pointed at it."""
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = controller.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    try:
        yield mailbox
    finally:
        controller.stop()


@pytest.fixture
def staff():
    return StaffFactory()


@pytest.fixture
def semester():
    return SemesterFactory(master_instructor=InstructorFactory())


@pytest.fixture
def student(staff, run_tasks):
    """`student(credits)`: a funded student; the grant's email is already delivered."""

    def build(credits: int = 5, **fields):
        user = StudentFactory(**fields)
        if credits:
            grant_credits(student=user, amount=credits, note="Welcome", by=staff)
            user.refresh_from_db()
        run_tasks()
        mail.outbox.clear()
        return user

    return build
