"""Bookings and the credit ledger: input serializers validate, output serializers show."""

from typing import Any

from rest_framework import serializers

from accounts.models import User
from bookings.models import Booking, CreditTransaction
from bookings.services import NOTE_MAX_LENGTH
from config.fields import StrictCharField, StrictIntegerField, StrictPrimaryKeyRelatedField


class BookingSerializer(serializers.ModelSerializer):
    """A booking as its student, the session's instructors and staff see it.

    Expects `select_related("session", "student")` and `with_waitlist_position()`.
    """

    session_title = serializers.CharField(source="session.title", read_only=True)
    session_date_start = serializers.DateTimeField(source="session.date_start", read_only=True)
    student_username = serializers.CharField(source="student.username", read_only=True)
    waitlist_position = serializers.IntegerField(
        read_only=True,
        allow_null=True,
        help_text="1-based place in the session's waitlist; null unless waitlisted.",
    )

    class Meta:
        model = Booking
        fields = [
            "id",
            "session",
            "session_title",
            "session_date_start",
            "student",
            "student_username",
            "status",
            "credits_charged",
            "waitlist_position",
            "created_at",
            "cancelled_at",
        ]
        read_only_fields = fields


class BookingCancellationSerializer(BookingSerializer):
    credits_refunded = serializers.IntegerField(
        read_only=True, help_text="Credits given back by this cancellation (0 when too late)."
    )

    class Meta(BookingSerializer.Meta):
        fields = [*BookingSerializer.Meta.fields, "credits_refunded"]
        read_only_fields = fields


class BookingCreateSerializer(serializers.Serializer):
    # An id, looked up by book_session in the statement that locks the session (a
    # session the caller may not see is a 400 on this field, as an unknown id is).
    session = StrictIntegerField(
        min_value=1, max_value=2**63 - 1, help_text="A session you can see."
    )
    student = StrictPrimaryKeyRelatedField(
        queryset=User.objects.all(),
        required=False,
        help_text="Staff only: the student to book. Students book for themselves.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        user = self.context["request"].user
        attrs.setdefault("student", user)
        if not user.is_student and attrs["student"].pk == user.pk:
            raise serializers.ValidationError(
                {"student": ["Name the student you are booking for."]}
            )
        return attrs


class CreditTransactionSerializer(serializers.ModelSerializer):
    class Meta:
        model = CreditTransaction
        fields = ["id", "user", "amount", "kind", "booking", "note", "created_by", "created_at"]
        read_only_fields = fields


class CreditGrantSerializer(serializers.Serializer):
    # Who may receive credits and how many are grant_credits' rules; it answers 400.
    student = StrictPrimaryKeyRelatedField(queryset=User.objects.all())
    amount = StrictIntegerField()
    note = StrictCharField(max_length=NOTE_MAX_LENGTH, required=False, allow_blank=True, default="")


class CreditAdjustmentSerializer(serializers.Serializer):
    # The sign, the bounds and who may be adjusted are adjust_credits' rules; it answers 400.
    student = StrictPrimaryKeyRelatedField(queryset=User.objects.all())
    amount = StrictIntegerField(help_text="Signed: positive adds credits, negative takes them.")
    note = StrictCharField(max_length=NOTE_MAX_LENGTH, help_text="Why the balance is corrected.")
