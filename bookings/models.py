from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.db.models import Q

from scheduling.querysets import taught_or_managed_q

if TYPE_CHECKING:
    from accounts.models import User


class BookingQuerySet(models.QuerySet):
    def live(self) -> "BookingQuerySet":
        return self.exclude(status=Booking.Status.CANCELLED)

    def waitlist_order(self) -> "BookingQuerySet":
        return self.filter(status=Booking.Status.WAITLISTED).order_by("created_at", "id")

    def with_waitlist_position(self) -> "BookingQuerySet":
        """Annotate `waitlist_position` (1-based) on waitlisted bookings, null on the others."""
        ahead = (
            Booking.objects.filter(
                session_id=models.OuterRef("session_id"), status=Booking.Status.WAITLISTED
            )
            .filter(
                Q(created_at__lt=models.OuterRef("created_at"))
                | Q(created_at=models.OuterRef("created_at"), id__lte=models.OuterRef("id"))
            )
            .order_by()
            .annotate(n=models.Func(models.F("pk"), function="COUNT"))
            .values("n")
        )
        return self.annotate(
            waitlist_position=models.Case(
                models.When(
                    status=Booking.Status.WAITLISTED,
                    then=models.Subquery(ahead, output_field=models.IntegerField()),
                ),
                default=None,
                output_field=models.IntegerField(),
            )
        )

    def visible_to(self, user: "User") -> "BookingQuerySet":
        if user.is_staff:
            return self
        if user.role == "instructor":
            return self.filter(taught_or_managed_q(user, prefix="session__"))
        return self.filter(student=user)


class Booking(models.Model):
    class Status(models.TextChoices):
        CONFIRMED = "confirmed", "Confirmed"
        WAITLISTED = "waitlisted", "Waitlisted"
        CANCELLED = "cancelled", "Cancelled"

    student = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="bookings"
    )
    session = models.ForeignKey(
        "scheduling.Session", on_delete=models.PROTECT, related_name="bookings"
    )
    status = models.CharField(max_length=16, choices=Status.choices)
    credits_charged = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    # Every status change saves it (bookings.services): the API's `updated_since` reads it.
    updated_at = models.DateTimeField(auto_now=True)

    objects = BookingQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["student", "session"],
                condition=~Q(status="cancelled"),
                name="booking_one_live_per_student_and_session",
            ),
            models.CheckConstraint(
                condition=Q(status="cancelled", cancelled_at__isnull=False)
                | (~Q(status="cancelled") & Q(cancelled_at__isnull=True)),
                name="booking_cancelled_at_iff_cancelled",
            ),
        ]
        indexes = [
            # Session statistics and capacity checks: WHERE session_id = ? AND status = ?.
            models.Index(fields=["session", "status"], name="booking_session_status_idx"),
            # A student's bookings: WHERE student_id = ? ORDER BY created_at.
            models.Index(fields=["student", "created_at"], name="booking_student_created_idx"),
            # GET /bookings/?updated_since=: WHERE updated_at >= ?, and its MAX(updated_at).
            models.Index(fields=["updated_at"], name="booking_updated_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.student} → {self.session} ({self.status})"


class CreditTransaction(models.Model):
    """Append-only ledger: a user's credit_balance is always the sum of their rows."""

    class Kind(models.TextChoices):
        GRANT = "grant", "Grant"
        BOOKING = "booking", "Booking"
        REFUND = "refund", "Refund"
        ADJUSTMENT = "adjustment", "Adjustment"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="credit_transactions"
    )
    amount = models.IntegerField()
    kind = models.CharField(max_length=16, choices=Kind.choices)
    booking = models.ForeignKey(
        Booking, on_delete=models.PROTECT, null=True, blank=True, related_name="transactions"
    )
    note = models.CharField(max_length=255, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(amount=0), name="credit_transaction_amount_non_zero"
            ),
            models.CheckConstraint(
                condition=~Q(kind="booking") | Q(amount__lt=0, booking__isnull=False),
                name="credit_transaction_booking_is_a_charge",
            ),
            models.CheckConstraint(
                condition=~Q(kind="refund") | Q(amount__gt=0, booking__isnull=False),
                name="credit_transaction_refund_is_a_credit",
            ),
            # A booking is charged once and refunded at most once, whatever races.
            models.UniqueConstraint(
                fields=["booking", "kind"],
                condition=Q(kind__in=["booking", "refund"]),
                name="credit_transaction_one_charge_and_refund_per_booking",
            ),
        ]
        indexes = [
            # A user's ledger, newest first: WHERE user_id = ? ORDER BY created_at DESC.
            models.Index(fields=["user", "-created_at"], name="credit_user_created_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.amount:+d} ({self.kind})"


class IdempotencyKey(models.Model):
    """A client's Idempotency-Key and the response it got, kept for replays."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="idempotency_keys"
    )
    key = models.CharField(max_length=255)
    endpoint = models.CharField(max_length=255)
    request_fingerprint = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField()
    response_body = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_unique_per_user"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id}:{self.key}"
