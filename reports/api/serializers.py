"""Output serializers of the register and of a student's attendance record."""

from rest_framework import serializers

from engagement.register import CELL_CHOICES, CELL_LABELS

CELL_HELP = "One of: " + ", ".join(
    f"`{code or '(empty)'}` {label}" for code, label in CELL_LABELS.items()
)


class TotalsSerializer(serializers.Serializer):
    attended = serializers.IntegerField(help_text="Present + late.")
    present = serializers.IntegerField()
    late = serializers.IntegerField()
    excused = serializers.IntegerField()
    absent = serializers.IntegerField()
    no_show = serializers.IntegerField(
        help_text="Confirmed bookings of started sessions without a present or late mark."
    )
    rate = serializers.FloatField(
        allow_null=True,
        help_text="Attended over the started sessions booked or marked, excused ones left out; "
        "null when there are none.",
    )


class RegisterSemesterSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    name = serializers.CharField()


class RegisterSessionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    date_start = serializers.DateTimeField()
    instructor = serializers.IntegerField(source="instructor_id")
    started = serializers.BooleanField()
    totals = TotalsSerializer()


class RegisterRowSerializer(serializers.Serializer):
    student = serializers.IntegerField(source="student_id")
    username = serializers.CharField()
    name = serializers.CharField()
    flagged = serializers.BooleanField(help_text="Attendance rate under `warning_rate`.")
    cells = serializers.ListField(
        child=serializers.ChoiceField(choices=CELL_CHOICES, allow_blank=True),
        help_text="One per session, in the order of `sessions`. " + CELL_HELP,
    )
    totals = TotalsSerializer()


class RegisterSerializer(serializers.Serializer):
    semester = RegisterSemesterSerializer()
    warning_rate = serializers.FloatField()
    sessions = RegisterSessionSerializer(many=True)
    students = RegisterRowSerializer(many=True, source="rows")


class RecordEntrySerializer(serializers.Serializer):
    session = serializers.IntegerField(source="session_id")
    title = serializers.CharField()
    semester = serializers.CharField(source="semester_code")
    date_start = serializers.DateTimeField()
    status = serializers.ChoiceField(choices=CELL_CHOICES, allow_blank=True, help_text=CELL_HELP)


class AttendanceRecordSerializer(serializers.Serializer):
    totals = TotalsSerializer()
    flagged = serializers.BooleanField()
    warning_rate = serializers.FloatField()
    sessions = RecordEntrySerializer(many=True, source="entries")
