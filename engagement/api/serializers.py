"""Attendance, feedback and projects: input serializers validate, output serializers show."""

from typing import Any

from rest_framework import serializers

from accounts.models import User
from engagement.models import Attendance, Feedback, Project
from scheduling.models import Semester, Session


class _VisibleSessionField(serializers.PrimaryKeyRelatedField):
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
    student = serializers.PrimaryKeyRelatedField(queryset=User.objects.all())
    status = serializers.ChoiceField(choices=Attendance.Status.choices)


class AttendanceUpdateSerializer(serializers.Serializer):
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
    rating = serializers.IntegerField()
    comment = serializers.CharField(required=False, allow_blank=True, default="")


class ProjectSerializer(serializers.ModelSerializer):
    """Expects the sessions prefetched."""

    sessions = serializers.PrimaryKeyRelatedField(many=True, read_only=True)

    class Meta:
        model = Project
        fields = ["id", "title", "description", "semester", "sessions"]
        read_only_fields = fields


class ProjectCreateSerializer(serializers.Serializer):
    semester = serializers.PrimaryKeyRelatedField(queryset=Semester.objects.all())
    title = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    # Membership of the project's semester is project_create's rule: it answers 400.
    sessions = serializers.PrimaryKeyRelatedField(
        many=True, queryset=Session.objects.all(), required=False, default=list
    )


class ProjectUpdateSerializer(serializers.Serializer):
    """PUT replaces every field (sessions default to none); PATCH only those given."""

    title = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    sessions = serializers.PrimaryKeyRelatedField(
        many=True, queryset=Session.objects.all(), required=False, default=list
    )
    semester = serializers.PrimaryKeyRelatedField(
        queryset=Semester.objects.all(),
        required=False,
        help_text="Fixed once the project exists; accepted only unchanged.",
    )

    def validate_semester(self, semester: Semester) -> Semester:
        if self.instance is not None and semester.pk != self.instance.semester_id:
            raise serializers.ValidationError("The semester of a project cannot be changed.")
        return semester
