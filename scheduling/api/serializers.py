"""Input and output shapes of the catalogue and session endpoints (SPEC §4).

Output serializers only read what the list query already loaded (statistics
annotations, select_related rows); input serializers only check shapes and
resolve ids; the rules run in scheduling.services.
"""

from datetime import datetime, tzinfo
from functools import cached_property
from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import User
from bookings.models import Booking
from config.fields import (
    StrictCharField,
    StrictIntegerField,
    StrictModelSerializer,
    StrictPrimaryKeyRelatedField,
    bounded_ids,
)
from scheduling.models import Group, Semester, Session, Specialization, meeting_link_validator
from scheduling.querysets import can_see_meeting_link
from scheduling.services import EDITABLE_FIELDS


class SpecializationSerializer(StrictModelSerializer):
    class Meta:
        model = Specialization
        fields = ["id", "code", "name"]


class SemesterSerializer(StrictModelSerializer):
    master_instructor = StrictPrimaryKeyRelatedField(
        queryset=User.objects.filter(role=User.Role.INSTRUCTOR)
    )

    class Meta:
        model = Semester
        fields = [
            "id",
            "code",
            "name",
            "start_date",
            "end_date",
            "location",
            "is_active",
            "master_instructor",
        ]


# A training group is a class of students; more ids than this is a 400.
MAX_GROUP_MEMBERS = 1000


class GroupSerializer(StrictModelSerializer):
    members = bounded_ids(
        User.objects.filter(role=User.Role.STUDENT), max_length=MAX_GROUP_MEMBERS, required=False
    )

    class Meta:
        model = Group
        fields = ["id", "name", "semester", "members"]


def _render_datetime(value: datetime, zone: tzinfo) -> str:
    """DRF's ISO 8601 rendering of an aware datetime in `zone` ("Z" for UTC)."""
    text = value.astimezone(zone).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _target_code(session: Session) -> str | None:
    """The code annotated by with_display_columns(), else read through the relation."""
    if not session.target_specialization_id:
        return None
    annotated = getattr(session, "target_specialization_code", None)
    return annotated if annotated is not None else session.target_specialization.code


class SessionSerializer(serializers.ModelSerializer):
    """A session with its statistics; expects a `with_stats()` row whose instructor,
    target specialization and semester were loaded in the same query."""

    instructor_name = serializers.SerializerMethodField()
    target_specialization = serializers.SlugRelatedField(
        slug_field="code", read_only=True, allow_null=True
    )
    meeting_link = serializers.SerializerMethodField()
    booking_count = serializers.IntegerField(read_only=True)
    confirmed_count = serializers.IntegerField(read_only=True)
    waitlist_count = serializers.IntegerField(read_only=True)
    available_spots = serializers.IntegerField(read_only=True)
    attendance_count = serializers.IntegerField(read_only=True)
    feedback_count = serializers.IntegerField(read_only=True)
    average_rating = serializers.FloatField(read_only=True, allow_null=True)
    project_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Session
        fields = [
            "id",
            "title",
            "description",
            "semester",
            "instructor",
            "instructor_name",
            "group",
            "target_specialization",
            "mixed_specialization",
            "session_type",
            "status",
            "date_start",
            "date_end",
            "capacity",
            "credit_cost",
            "location",
            "meeting_link",
            "booking_count",
            "confirmed_count",
            "waitlist_count",
            "available_spots",
            "attendance_count",
            "feedback_count",
            "average_rating",
            "project_count",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def to_representation(self, session: Session) -> dict[str, Any]:
        """The declared fields' output, built straight from the row: a Session, or a
        named tuple of `SessionQuerySet.as_rows()`, which has the same attributes.

        This is the hot path of every sync (up to 500 rows a page): going through
        27 Field objects per row cost more than the SQL. A test compares it with
        DRF's generic rendering (`represent_with_fields`) field by field.
        """
        zone = self._output_timezone
        average = session.average_rating
        return {
            "id": session.id,
            "title": session.title,
            "description": session.description,
            "semester": session.semester_id,
            "instructor": session.instructor_id,
            "instructor_name": self.get_instructor_name(session),
            "group": session.group_id,
            "target_specialization": _target_code(session),
            "mixed_specialization": session.mixed_specialization,
            "session_type": session.session_type,
            "status": session.status,
            "date_start": _render_datetime(session.date_start, zone),
            "date_end": _render_datetime(session.date_end, zone),
            "capacity": session.capacity,
            "credit_cost": session.credit_cost,
            "location": session.location,
            "meeting_link": self.get_meeting_link(session),
            "booking_count": session.booking_count,
            "confirmed_count": session.confirmed_count,
            "waitlist_count": session.waitlist_count,
            "available_spots": session.available_spots,
            "attendance_count": session.attendance_count,
            "feedback_count": session.feedback_count,
            "average_rating": float(average) if average is not None else None,
            "project_count": session.project_count,
            "created_at": _render_datetime(session.created_at, zone),
            "updated_at": _render_datetime(session.updated_at, zone),
        }

    @cached_property
    def _output_timezone(self) -> tzinfo:
        # What DateTimeField renders in, read once per list rather than once per value:
        # the lookup goes through a context-local and was a third of the rendering time.
        return timezone.get_current_timezone()

    def represent_with_fields(self, session: Session) -> dict[str, Any]:
        """DRF's generic rendering through the declared fields: the reference."""
        return super().to_representation(session)

    def get_instructor_name(self, session: Session) -> str:
        annotated = getattr(session, "instructor_name", None)
        if annotated is not None:
            return annotated
        instructor = session.instructor
        return instructor.get_full_name() or instructor.username

    @extend_schema_field(
        {
            "type": "string",
            "format": "uri",
            "nullable": True,
            "description": "Only for staff, the session's instructor and master instructor, "
            "and students with a confirmed booking; null for everyone else and when the "
            "session has no link.",
        }
    )
    def get_meeting_link(self, session: Session) -> str | None:
        if not session.meeting_link:
            return None
        if not can_see_meeting_link(self.context["request"].user, session):
            return None
        return session.meeting_link


class SessionInputSerializer(StrictModelSerializer):
    """The writable fields of a session; the status changes only through `cancel`."""

    instructor = StrictPrimaryKeyRelatedField(
        queryset=User.objects.filter(role=User.Role.INSTRUCTOR)
    )
    target_specialization = serializers.SlugRelatedField(
        slug_field="code", queryset=Specialization.objects.all(), allow_null=True, required=False
    )
    # Checked here, once: the model field's own validation would report an invalid
    # link twice (URLField's URLValidator and the http/https one both run).
    meeting_link = StrictCharField(
        max_length=500,
        allow_blank=True,
        allow_null=True,
        required=False,
        validators=[meeting_link_validator],
    )

    class Meta:
        model = Session
        # What session_update accepts, plus the semester, fixed once created.
        fields = ["semester", *EDITABLE_FIELDS]

    def validate_meeting_link(self, value: str | None) -> str:
        # null reads as "no link", so that a GET body can be sent back as a PUT body.
        return value or ""


class SessionUpdateSerializer(SessionInputSerializer):
    semester = StrictIntegerField(
        required=False, help_text="Fixed once created; sending another semester is an error."
    )

    def validate_semester(self, value: int) -> int:
        # Compared by id so that the semester is not read again (SPEC §3).
        if self.instance is not None and value != self.instance.semester_id:
            raise serializers.ValidationError("The semester of a session cannot be changed.")
        return value


class SessionCancellationSerializer(serializers.Serializer):
    session = SessionSerializer()
    bookings_cancelled = serializers.IntegerField()
    credits_refunded = serializers.IntegerField()


class RosterEntrySerializer(serializers.ModelSerializer):
    student_username = serializers.CharField(source="student.username", read_only=True)
    student_name = serializers.SerializerMethodField()
    waitlist_position = serializers.IntegerField(
        read_only=True, allow_null=True, help_text="1-based place in the waitlist; null otherwise."
    )

    class Meta:
        model = Booking
        fields = [
            "id",
            "student",
            "student_username",
            "student_name",
            "status",
            "credits_charged",
            "waitlist_position",
            "created_at",
            "cancelled_at",
        ]
        read_only_fields = fields

    def get_student_name(self, booking: Booking) -> str:
        return booking.student.get_full_name() or booking.student.username


def changes_of(serializer: SessionInputSerializer) -> dict[str, Any]:
    """The validated fields a session update may pass to the service."""
    return {name: value for name, value in serializer.validated_data.items() if name != "semester"}
