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
from scheduling.access import can_see_meeting_link
from scheduling.models import Group, Semester, Session, Specialization, meeting_link_validator
from scheduling.querysets import SESSION_STATISTICS
from scheduling.services import EDITABLE_FIELDS, MAX_DUPLICATE_WEEKS


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
        # The code's uniqueness is the services' check (full_clean): asked once, not
        # again by a validator of this serializer.
        extra_kwargs = {"code": {"validators": []}}


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


# The API's representation of a session (SPEC §4), one row per field, in order: how
# the fast path reads each from a row. A new Session field is added here, once: the
# serializer's `Meta.fields` and its `to_representation` both come from this table.
FIELD = "field"  # the row's attribute of that name
KEY = "key"  # a foreign key: its id (`<name>_id`)
DATETIME = "datetime"  # an aware datetime, rendered as DRF renders it
FLOAT = "float"  # a number or null
METHOD = "method"  # the serializer's `get_<name>(row)`

SESSION_REPRESENTATION: tuple[tuple[str, str], ...] = (
    ("id", FIELD),
    ("title", FIELD),
    ("description", FIELD),
    ("semester", KEY),
    ("instructor", KEY),
    ("instructor_name", METHOD),
    ("group", KEY),
    ("target_specialization", METHOD),
    ("mixed_specialization", FIELD),
    ("session_type", FIELD),
    ("status", FIELD),
    ("date_start", DATETIME),
    ("date_end", DATETIME),
    ("capacity", FIELD),
    ("credit_cost", FIELD),
    ("location", FIELD),
    ("meeting_link", METHOD),
    ("allow_overlap", FIELD),
    ("overlap_reason", FIELD),
    ("series", KEY),
    *((name, FLOAT if name == "average_rating" else FIELD) for name in SESSION_STATISTICS),
    ("created_at", DATETIME),
    ("updated_at", DATETIME),
)

_READERS = {
    FIELD: "row.{name}",
    KEY: "row.{name}_id",
    DATETIME: "render_datetime(row.{name}, zone)",
    FLOAT: "None if row.{name} is None else float(row.{name})",
    METHOD: "self.get_{name}(row)",
}


def _compile_representation(table: tuple[tuple[str, str], ...]) -> Any:
    """One function that builds the whole dict from a row, generated from the table.

    Generated source, as `dataclasses` generates `__init__`: one dict display with an
    attribute read per field runs as fast as the hand-written function it replaces,
    where a loop over per-field getters would add a call per field and row (27 of
    them on each of up to 500 rows a page).
    """
    items = "".join(
        f"        {name!r}: {_READERS[how].format(name=name)},\n" for name, how in table
    )
    source = f"def represent(self, row, zone):\n    return {{\n{items}    }}\n"
    namespace: dict[str, Any] = {"render_datetime": _render_datetime}
    exec(compile(source, "<session representation>", "exec"), namespace)
    return namespace["represent"]


_represent_session = _compile_representation(SESSION_REPRESENTATION)


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
        fields = [name for name, _ in SESSION_REPRESENTATION]
        read_only_fields = fields

    def to_representation(self, session: Session) -> dict[str, Any]:
        """The declared fields' output, built straight from the row: a Session, or a
        named tuple of `SessionQuerySet.as_rows()`, which has the same attributes.

        This is the hot path of every sync (up to 500 rows a page): going through
        27 Field objects per row cost more than the SQL. The function is generated
        from `SESSION_REPRESENTATION`; a test compares it with DRF's generic
        rendering (`represent_with_fields`) field by field.
        """
        return _represent_session(self, session, self._output_timezone)

    def get_target_specialization(self, session: Session) -> str | None:
        return _target_code(session)

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
        return session.instructor.display_name

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
        return booking.student.display_name


def changes_of(serializer: SessionInputSerializer) -> dict[str, Any]:
    """The validated fields a session update may pass to the service."""
    return {name: value for name, value in serializer.validated_data.items() if name != "semester"}


class ConflictingSessionSerializer(serializers.Serializer):
    id = serializers.IntegerField(
        allow_null=True, help_text="Null for another occurrence of the same new series."
    )
    title = serializers.CharField()
    date_start = serializers.DateTimeField()


class SessionConflictErrorSerializer(serializers.Serializer):
    """A 409: `{"detail", "code"}`; with `instructor_busy` or `location_busy`, the
    sessions in the way."""

    detail = serializers.CharField()
    code = serializers.CharField()
    conflicts = ConflictingSessionSerializer(many=True, required=False)


class SessionDuplicateSerializer(serializers.Serializer):
    """Where the copy goes: a start, or a number of weeks later (default: one). Which of
    them may be given, and how many weeks, are `duplicate_start`'s rules; it answers 400."""

    date_start = serializers.DateTimeField(
        required=False, help_text="The copy's start; its length is the session's."
    )
    weeks = serializers.IntegerField(
        required=False,
        help_text=(
            f"Whole weeks later (negative: earlier), 1 to {MAX_DUPLICATE_WEEKS} either way, "
            "at the same local wall-clock time. Not with date_start."
        ),
    )


class SemesterCopySerializer(serializers.Serializer):
    target_semester = serializers.PrimaryKeyRelatedField(queryset=Semester.objects.all())
    weeks = serializers.IntegerField(
        min_value=-520, max_value=520, help_text="Whole weeks every date moves by."
    )
    dry_run = serializers.BooleanField(
        required=False, default=False, help_text="Preview: the series and problems, unsaved."
    )
