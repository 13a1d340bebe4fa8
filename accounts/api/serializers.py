from rest_framework import serializers

from accounts.models import User
from accounts.services import NOTIFICATION_SETTINGS
from calendars.services import calendar_feed_url, calendar_token_for
from config.fields import StrictBooleanField, StrictCharField


class TokenRequestSerializer(serializers.Serializer):
    username = StrictCharField()
    password = StrictCharField(style={"input_type": "password"}, trim_whitespace=False)


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="Send it as `Authorization: Token <token>`.")


class MeSerializer(serializers.ModelSerializer):
    specialization = serializers.SlugRelatedField(
        slug_field="code", read_only=True, allow_null=True
    )
    calendar_url = serializers.SerializerMethodField(
        help_text="The secret `webcal://` address of the caller's calendar feed (created on "
        "first read); `POST /api/v1/me/calendar/rotate/` replaces it."
    )

    class Meta:
        model = User
        fields = [
            "id",
            "username",
            "role",
            "specialization",
            "credit_balance",
            *NOTIFICATION_SETTINGS,
            "calendar_url",
        ]
        read_only_fields = fields

    def get_calendar_url(self, user: User) -> str:
        return calendar_feed_url(calendar_token_for(user=user))


class MeUpdateSerializer(serializers.Serializer):
    """The switches of the optional emails; emails about money and cancellations by the
    academy are always sent."""

    notify_reminders = StrictBooleanField(
        required=False, help_text="A reminder before each confirmed session."
    )
    notify_waitlist_changes = StrictBooleanField(
        required=False, help_text="Changes to sessions you are waitlisted on."
    )
    notify_credit_grants = StrictBooleanField(
        required=False, help_text="Credits added to your balance."
    )

    def validate(self, attrs: dict) -> dict:
        # Anything else (a role, a balance, is_staff) is refused by name, not ignored.
        unknown = sorted(set(self.initial_data) - set(self.fields))
        if unknown:
            raise serializers.ValidationError(
                {name: ["This field cannot be changed here."] for name in unknown}
            )
        return attrs
