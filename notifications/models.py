from django.conf import settings
from django.db import models


class SentEmail(models.Model):
    """One email the queue owes somebody, by idempotency key.

    The row is written by the task that sends it, under a row lock, so a task run
    twice (a retry, a worker restarted mid-batch) finds `sent` and sends nothing.
    It is also the delivery log that staff read in the admin.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending (will be retried)"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped"

    # "<activity id>:<recipient id>", "reminder:<booking id>:<start>", "password-reset:<uuid>".
    key = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=40)
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    to_address = models.EmailField(blank=True)
    subject = models.CharField(max_length=300, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    # When what the email tells about happened: delivery latency is sent_at - queued_at.
    queued_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The admin's "last emails sent" list.
            models.Index(fields=["-created_at"], name="sentemail_recent_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} to {self.to_address or '-'} ({self.status})"
