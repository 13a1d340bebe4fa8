"""Sending one email at most once, with bounded retries on transient SMTP errors.

The `SentEmail` row of the email's idempotency key is locked for the whole
attempt: a second run of the same key (a retry task, a worker restarted after a
crash) waits, then finds `sent` and does nothing. Every email carries a
Message-ID derived from its key, so even the one window the database cannot
close (killed after the SMTP server accepted, before the commit) leaves the
receiving side a duplicate it can recognise.
"""

import hashlib
import smtplib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from config.outbox import Call, enqueue_calls

from . import kinds
from .models import SentEmail


@dataclass(frozen=True)
class Message:
    subject: str
    text: str
    html: str


class Skip(Exception):
    """Nothing to send: the state changed since the event, or the person said no."""


class DeliveryFailed(Exception):
    """Given up: a permanent SMTP refusal, or transient ones for every allowed attempt."""


Compose = Callable[[User], Message]
Retry = Callable[[int, datetime], Call]


def is_transient(error: BaseException) -> bool:
    """4xx replies and dropped or refused connections are worth another try; 5xx are not."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(400 <= code < 500 for code, _ in error.recipients.values())
    if isinstance(error, smtplib.SMTPResponseException):
        return 400 <= error.smtp_code < 500
    if isinstance(error, smtplib.SMTPNotSupportedError):
        return False
    # SMTPServerDisconnected, connection refused, timeouts (all OSErrors).
    return isinstance(error, OSError)


def retry_delay(attempt: int) -> timedelta:
    """Exponential backoff after the attempt-th failure."""
    return timedelta(seconds=settings.EMAIL_RETRY_BASE_SECONDS * 2 ** (attempt - 1))


def message_id(key: str) -> str:
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    host = settings.SITE_URL.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0]
    return f"<{digest}@{host or 'practica'}>"


def _send(message: Message, *, to: str, key: str) -> None:
    email = EmailMultiAlternatives(
        subject=message.subject,
        body=message.text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to],
        headers={"Message-ID": message_id(key)},
    )
    email.attach_alternative(message.html, "text/html")
    email.send(fail_silently=False)


def _close(record: SentEmail, status: str, error: str = "") -> str:
    record.status = status
    record.last_error = error
    if status == SentEmail.Status.SENT:
        record.sent_at = timezone.now()
    record.save()
    return str(status)


def deliver(
    *,
    key: str,
    kind: str,
    recipient_id: int,
    queued_at: datetime,
    compose: Compose,
    attempt: int,
    retry: Retry,
) -> str:
    """Send the email of `key` unless it was already sent or skipped; returns its status.

    Raises DeliveryFailed when giving up, after recording the failure, so the task
    itself is marked failed in the queue.
    """
    failure: BaseException | None = None
    with transaction.atomic():
        user = User.objects.filter(pk=recipient_id).first()
        record, _ = SentEmail.objects.select_for_update().get_or_create(
            key=key, defaults={"kind": kind, "recipient": user, "queued_at": queued_at}
        )
        if record.status != SentEmail.Status.PENDING:
            return str(record.status)
        if user is None or not user.email:
            return _close(record, SentEmail.Status.SKIPPED, "No email address.")
        record.to_address = user.email
        flag = kinds.OPTIONAL.get(kind)
        if flag and not getattr(user, flag):
            return _close(record, SentEmail.Status.SKIPPED, "Turned off by the recipient.")
        try:
            # Every time in the email reads in the recipient's own zone, as their pages do.
            with timezone.override(user.zone or settings.TIME_ZONE):
                message = compose(user)
        except Skip as skip:
            return _close(record, SentEmail.Status.SKIPPED, str(skip))
        record.subject = message.subject[:300]
        record.attempts = attempt
        try:
            _send(message, to=user.email, key=key)
        except Exception as error:
            detail = f"{type(error).__name__}: {error}"
            if is_transient(error) and attempt < settings.EMAIL_MAX_ATTEMPTS:
                # The next attempt is a new task row, committed with this record.
                enqueue_calls([retry(attempt + 1, timezone.now() + retry_delay(attempt))])
                return _close(record, SentEmail.Status.PENDING, detail)
            _close(record, SentEmail.Status.FAILED, detail)
            failure = error
        else:
            return _close(record, SentEmail.Status.SENT)
    raise DeliveryFailed(f"Gave up on {key} after {attempt} attempt(s).") from failure
