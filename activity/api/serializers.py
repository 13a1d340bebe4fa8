from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from activity.models import Activity


def _name(user: Any) -> str | None:
    if user is None:
        return None
    return user.get_full_name() or user.username


class ActivitySerializer(serializers.ModelSerializer):
    """One activity; expects `actor` and `student` loaded with the row (`select_related`)."""

    actor_name = serializers.SerializerMethodField(
        help_text="Full name or username; null when the system acted."
    )
    student_name = serializers.SerializerMethodField()
    session = serializers.IntegerField(source="session_id", allow_null=True, read_only=True)
    data = serializers.JSONField(
        read_only=True,
        help_text="What changed; its keys depend on the verb (README, Activity).",
    )

    class Meta:
        model = Activity
        fields = [
            "id",
            "verb",
            "actor",
            "actor_name",
            "target_type",
            "target_id",
            "session",
            "student",
            "student_name",
            "data",
            "created_at",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_actor_name(self, activity: Activity) -> str | None:
        return _name(activity.actor)

    # Null when the activity concerns no student (a session or a series created).
    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_student_name(self, activity: Activity) -> str | None:
        return _name(activity.student)
