"""Attendance, feedback and projects: input serializers validate, output serializers show."""

from typing import Any

from rest_framework import serializers

from accounts.models import User
from config.fields import (
    StrictCharField,
    StrictIntegerField,
    StrictPrimaryKeyRelatedField,
    bounded_ids,
)
from engagement.models import Attendance, Feedback, Project
from scheduling.models import Semester, Session


class _VisibleSessionField(StrictPrimaryKeyRelatedField):
    """A session id among those the requesting user may see; others do not exist for them."""

    def __init__(self, **kwargs: Any) -> None:
        # The model, for the schema; the rows come from get_queryset().
        super().__init__(queryset=Session.objects.none(), **kwargs)

    def get_queryset(self) -> Any:
        request = self.context.get("request")
        if request is None:
            return Session.objects.none()
        return Session.objects.visible_to(request.user)


class AttendanceSerializer(serializers.ModelSerializer):
    """Expects `select_related("student")`."""

    student_username = serializers.CharField(source="student.username", read_only=True)

    class Meta:
        model = Attendance
        fields = [
            "id",
            "session",
            "student",
            "student_username",
            "status",
            "marked_by",
            "marked_at",
        ]
        read_only_fields = fields


class AttendanceCreateSerializer(serializers.Serializer):
    session = _VisibleSessionField()
    student = StrictPrimaryKeyRelatedField(queryset=User.objects.all())
    status = serializers.ChoiceField(choices=Attendance.Status.choices)


class AttendanceUpdateSerializer(serializers.Serializer):
    """The new status of the attendance: required, on PATCH too."""

    # The view validates PATCH in full: documented so (config.spectacular.AutoSchema).
    complete_on_patch = True

    status = serializers.ChoiceField(choices=Attendance.Status.choices)


class FeedbackSerializer(serializers.ModelSerializer):
    """Expects `select_related("session", "student")`."""

    session_title = serializers.CharField(source="session.title", read_only=True)
    student_username = serializers.CharField(source="student.username", read_only=True)

    class Meta:
        model = Feedback
        fields = [
            "id",
            "session",
            "session_title",
            "student",
            "student_username",
            "rating",
            "comment",
            "created_at",
        ]
        read_only_fields = fields


class FeedbackCreateSerializer(serializers.Serializer):
    session = _VisibleSessionField()
    # The 1..5 range is feedback_give's rule (and a database constraint): it answers 400.
    rating = StrictIntegerField()
    # Left out, it is feedback_give's default (none).
    comment = StrictCharField(required=False, allow_blank=True)


# A project spans a semester's sessions: far fewer than this; more is a 400.
MAX_PROJECT_SESSIONS = 500


class ProjectSerializer(serializers.ModelSerializer):
    """Expects the sessions prefetched."""

    sessions = serializers.PrimaryKeyRelatedField(many=True, read_only=True)

    class Meta:
        model = Project
        fields = ["id", "title", "description", "semester", "sessions"]
        read_only_fields = fields


class ProjectCreateSerializer(serializers.Serializer):
    semester = StrictPrimaryKeyRelatedField(queryset=Semester.objects.all())
    title = StrictCharField(max_length=200)
    # Left out, it is project_create's default (none).
    description = StrictCharField(required=False, allow_blank=True)
    # Membership of the project's semester is project_create's rule: it answers 400.
    sessions = bounded_ids(
        Session.objects.all(), max_length=MAX_PROJECT_SESSIONS, required=False, default=list
    )


class ProjectUpdateSerializer(serializers.Serializer):
    """PUT replaces every field (sessions default to none); PATCH only those given."""

    title = StrictCharField(max_length=200)
    description = StrictCharField(required=False, allow_blank=True, default="")
    sessions = bounded_ids(
        Session.objects.all(), max_length=MAX_PROJECT_SESSIONS, required=False, default=list
    )
    semester = StrictPrimaryKeyRelatedField(
        queryset=Semester.objects.all(),
        required=False,
        help_text="Fixed once the project exists; accepted only unchanged.",
    )

    def validate_semester(self, semester: Semester) -> Semester:
        if self.instance is not None and semester.pk != self.instance.semester_id:
            raise serializers.ValidationError("The semester of a project cannot be changed.")
        return semester
