"""Forms of the instructor pages. They collect input; the services decide.

The session form does not run the model validation itself: `session_create` and
`session_update` do (`validate_session`), and the page puts the ValidationError
they raise beside the fields it names. Running it here too would check every
rule twice and let the two runs drift apart.
"""

from datetime import date
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils import timezone

from accounts.models import User
from engagement.models import Attendance
from scheduling.access import semesters_managed_by
from scheduling.models import Group, InstructorQualification, Session, Specialization

DATETIME_LOCAL_FORMAT = "%Y-%m-%dT%H:%M"


class DateTimeLocalInput(forms.DateTimeInput):
    """The browser's date-and-time picker; values are wall-clock times in TIME_ZONE."""

    input_type = "datetime-local"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs=attrs, format=DATETIME_LOCAL_FORMAT)


class SemesterSelect(forms.Select):
    """Each option carries its semester's location, shown as the location's default."""

    def create_option(self, name: str, value: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        option = super().create_option(name, value, *args, **kwargs)
        instance = getattr(value, "instance", None)
        if instance is not None:
            option["attrs"]["data-location"] = instance.location
        return option


class GroupSelect(forms.Select):
    """Each option carries its semester, so the page can offer only the chosen semester's."""

    def create_option(self, name: str, value: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        option = super().create_option(name, value, *args, **kwargs)
        instance = getattr(value, "instance", None)
        if instance is not None:
            option["attrs"]["data-semester"] = str(instance.semester_id)
        return option


# A series' rule fields that come from the session's own start and end.
RULE_FIELD_PLACES = {
    "first_date": "date_start",
    "start_time": "date_start",
    "duration_minutes": "date_end",
}
# The checkboxes a save asks for before it goes ahead; shown only beside their question.
CONFIRMATIONS = ("confirm_past", "confirm_told")


class SessionForm(forms.ModelForm):
    """Every editable field of a session. The semester is chosen on create only.

    Two saves ask first: a start in the past (`confirm_past`), and an edit of the time,
    place or type of a session people are booked on, who will be told (`confirm_told`).
    """

    confirm_past = forms.BooleanField(required=False, label="Yes, it starts in the past")
    confirm_told = forms.BooleanField(required=False, label="Yes, save and tell them")
    confirmations = CONFIRMATIONS
    # Set by the view when a save asks: the start is in the past; how many will be told.
    asks_past = False
    told = 0

    meeting_link = forms.URLField(
        required=False,
        max_length=500,
        assume_scheme="https",
        widget=forms.URLInput(attrs={"placeholder": "https://"}),
        help_text="Virtual sessions only; shown to booked students.",
    )

    class Meta:
        model = Session
        fields = [
            "semester",
            "title",
            "description",
            "date_start",
            "date_end",
            "session_type",
            "location",
            "meeting_link",
            "capacity",
            "credit_cost",
            "target_specialization",
            "group",
            "mixed_specialization",
        ]
        widgets = {
            "semester": SemesterSelect,
            "group": GroupSelect,
            "description": forms.Textarea(attrs={"rows": 4}),
            "date_start": DateTimeLocalInput,
            "date_end": DateTimeLocalInput,
        }
        labels = {
            "session_type": "Type",
            "date_start": "Starts",
            "date_end": "Ends",
            "credit_cost": "Credit cost",
            "target_specialization": "Target specialization",
            "mixed_specialization": "Open to every specialization",
        }
        help_texts = {
            "mixed_specialization": (
                "Students of any specialization may book, even with a target set."
            ),
        }

    def __init__(self, *args: Any, user: User, instructor: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        editing = self.instance.pk is not None
        tz_name = timezone.get_current_timezone_name()
        for name in ("date_start", "date_end"):
            self.fields[name].help_text = f"Local time ({tz_name})."

        qualified = InstructorQualification.objects.active_today().filter(instructor=instructor)
        allowed = Q(pk__in=qualified.values("specialization_id"))
        if editing and self.instance.target_specialization_id:
            # A target chosen while the instructor was qualified stays selectable, so that
            # editing another field does not force a change of target.
            allowed |= Q(pk=self.instance.target_specialization_id)
        self.fields["target_specialization"].queryset = Specialization.objects.filter(allowed)
        self.fields["target_specialization"].empty_label = "None (any specialization)"
        self.fields["group"].empty_label = "None (open to everyone eligible)"

        if editing:
            del self.fields["semester"]
            semester = self.instance.semester
            self.fields["group"].queryset = Group.objects.filter(semester=semester)
            self._describe_location(semester.location)
        else:
            semesters = semesters_managed_by(user)
            self.fields["semester"].queryset = semesters
            self.fields["semester"].label_from_instance = lambda semester: (
                f"{semester.code} · {semester.name}"
            )
            self.fields["semester"].empty_label = None
            chosen = self._chosen_semester_id()
            groups = Group.objects.select_related("semester")
            self.fields["group"].queryset = (
                groups.filter(semester_id=chosen)
                if chosen
                else groups.filter(semester__in=semesters)
            )
            self._describe_location("")

    def _chosen_semester_id(self) -> int | None:
        """The semester posted with a bound form, so its groups alone are valid choices."""
        if not self.is_bound:
            return None
        try:
            return int(self.data.get(self.add_prefix("semester"), ""))
        except ValueError:
            return None

    def _describe_location(self, default: str) -> None:
        field = self.fields["location"]
        field.widget.attrs["placeholder"] = default
        field.help_text = (
            f"Leave blank to use the semester's location ({default})."
            if default
            else "Leave blank to use the semester's location."
        )

    def _post_clean(self) -> None:
        # Model validation runs once, inside the services (see the module docstring).
        pass

    def session_fields(self) -> dict[str, Any]:
        """The cleaned values the services take, without the semester or confirmations."""
        return {
            name: value
            for name, value in self.cleaned_data.items()
            if name != "semester" and name not in CONFIRMATIONS
        }

    def changed_session_fields(self) -> dict[str, Any]:
        """Only what the user changed, so that session_update re-checks only what moved."""
        values = self.session_fields()
        return {name: values[name] for name in self.changed_data if name in values}

    def add_service_error(self, error: ValidationError) -> None:
        """Put a service's ValidationError beside the fields it names."""
        if hasattr(error, "error_dict"):
            for field, errors in error.error_dict.items():
                field = RULE_FIELD_PLACES.get(field, field)
                self.add_error(field if field in self.fields else None, errors)
        else:
            self.add_error(None, error)


class AttendanceForm(forms.Form):
    """One status per confirmed student; a blank leaves that student unmarked."""

    def __init__(
        self,
        *args: Any,
        students: list[User],
        current: dict[int, str],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        choices = [("", "Not marked"), *Attendance.Status.choices]
        self.students = students
        for student in students:
            self.fields[self.field_name(student)] = forms.ChoiceField(
                label=student.display_name,
                choices=choices,
                required=False,
                initial=current.get(student.pk, ""),
            )

    @staticmethod
    def field_name(student: User) -> str:
        return f"student_{student.pk}"

    def rows(self) -> list[tuple[User, forms.BoundField]]:
        return [(student, self[self.field_name(student)]) for student in self.students]

    def marked(self) -> list[tuple[User, str]]:
        """The students whose status the user set or changed."""
        return [
            (student, self.cleaned_data[self.field_name(student)])
            for student in self.students
            if self.field_name(student) in self.changed_data
            and self.cleaned_data[self.field_name(student)]
        ]


WEEKDAYS = [
    (1, "Monday"),
    (2, "Tuesday"),
    (3, "Wednesday"),
    (4, "Thursday"),
    (5, "Friday"),
    (6, "Saturday"),
    (7, "Sunday"),
]


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs=attrs, format="%Y-%m-%d")


class RepeatForm(forms.Form):
    """ "Repeat": the weekly rule of a new session's series. No weekday ticked means one
    session. The rule's own checks are the series service's (scheduling/series.py)."""

    prefix = "repeat"

    weekdays = forms.TypedMultipleChoiceField(
        choices=WEEKDAYS,
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Repeat every",
        help_text="Tick no day for a single session. The first date is the start above.",
    )
    until_date = forms.DateField(required=False, label="Until", widget=DateInput)
    count = forms.IntegerField(
        required=False,
        min_value=1,
        label="Or this many times",
        help_text="Give an end date or a number of sessions.",
    )
    skipped_dates = forms.CharField(
        required=False,
        label="Skip these dates",
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "2027-04-05, 2027-05-01"}),
        help_text="Holidays: dates as YYYY-MM-DD, separated by commas, spaces or lines.",
    )

    def clean_skipped_dates(self) -> list[date]:
        given = self.cleaned_data["skipped_dates"].replace(",", " ").split()
        dates, wrong = [], []
        for text in given:
            try:
                dates.append(date.fromisoformat(text))
            except ValueError:
                wrong.append(text)
        if wrong:
            raise ValidationError(f"Not a date (YYYY-MM-DD): {', '.join(wrong)}.")
        return dates

    def is_repeating(self) -> bool:
        return bool(self.cleaned_data.get("weekdays"))

    def rule(self) -> dict[str, Any]:
        """The rule's fields for scheduling.series (first date and times come from the
        session's start and end)."""
        data = self.cleaned_data
        return {
            "weekdays": data["weekdays"],
            "until_date": data["until_date"],
            "count": data["count"],
            "skipped_dates": data["skipped_dates"],
        }

    def add_service_error(self, error: ValidationError) -> bool:
        """Put the rule's errors beside its fields; False when none is the rule's."""
        mine = {
            field: errors
            for field, errors in getattr(error, "error_dict", {}).items()
            if field in self.fields
        }
        for field, errors in mine.items():
            self.add_error(field, errors)
        return bool(mine)


class DuplicateForm(forms.Form):
    """ "Duplicate" on a session's page: the day of the copy, at the same local time."""

    day = forms.DateField(label="Duplicate to", widget=DateInput)


def occurrence_choices(occurrences: list[Session]) -> list[tuple[str, str]]:
    """The occurrences a change may start from, by their local date and time (the
    viewer's zone), built from rows the page already holds: no query of its own."""
    return [
        (str(session.pk), f"{timezone.localtime(session.date_start):%a %-d %b %Y, %H:%M}")
        for session in occurrences
    ]


class SeriesScopeForm(forms.Form):
    """The scope of a series change and the occurrence it counts from."""

    scopes: list[tuple[str, str]] = []

    scope = forms.ChoiceField(widget=forms.RadioSelect, label="Which sessions")
    occurrence = forms.ChoiceField(label="From the session of", required=False)
    confirm = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, occurrences: list[Session], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.occurrences = {str(session.pk): session for session in occurrences}
        self.fields["scope"].choices = self.scopes
        self.fields["occurrence"].choices = [("", "—"), *occurrence_choices(occurrences)]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        chosen = self.occurrences.get(data.get("occurrence") or "")
        if data.get("scope") in ("this", "following") and chosen is None:
            self.add_error("occurrence", "Choose the session the change starts from.")
        data["occurrence"] = chosen
        return data


class SeriesEditForm(SeriesScopeForm):
    """Edit "this and following" or "all remaining": fields left as shown stay as they
    are; a new rule (weekdays, end, skipped dates) applies to "this and following"."""

    prefix = "edit"
    scopes = [("following", "This and following"), ("all", "All remaining")]

    title = forms.CharField(max_length=200, required=False)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    start_time = forms.TimeField(
        required=False, label="Starts at", widget=forms.TimeInput(attrs={"type": "time"})
    )
    duration_minutes = forms.IntegerField(
        required=False, min_value=1, max_value=24 * 60, label="Length (minutes)"
    )
    session_type = forms.ChoiceField(
        choices=Session.SessionType.choices, required=False, label="Type"
    )
    location = forms.CharField(max_length=200, required=False)
    meeting_link = SessionForm.base_fields["meeting_link"]
    capacity = forms.IntegerField(required=False, min_value=1)
    credit_cost = forms.IntegerField(
        required=False,
        min_value=0,
        label="Credit cost",
        help_text="Bookings already made keep what they were charged.",
    )
    weekdays = forms.TypedMultipleChoiceField(
        choices=WEEKDAYS,
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="On",
        help_text="A new rule applies to “This and following” only.",
    )
    until_date = forms.DateField(required=False, label="Until", widget=DateInput)
    count = forms.IntegerField(
        required=False,
        min_value=1,
        label="Or this many sessions",
        help_text="Counted from the session chosen above; give this or an end date.",
    )
    skipped_dates = RepeatForm.base_fields["skipped_dates"]
    clean_skipped_dates = RepeatForm.clean_skipped_dates

    TEMPLATE = (
        "title",
        "description",
        "start_time",
        "duration_minutes",
        "session_type",
        "location",
        "meeting_link",
        "capacity",
        "credit_cost",
    )
    RULE = ("weekdays", "until_date", "count", "skipped_dates")

    def changes(self) -> dict[str, Any]:
        """What the user changed, as the series service's fields."""
        data = self.cleaned_data
        changes = {
            name: data[name]
            for name in self.TEMPLATE + self.RULE
            if name in self.changed_data and data[name] not in (None, "", [])
        }
        # Blank is a choice for these: no description, the semester's location, no
        # link, no dates skipped.
        for name in ("description", "location", "meeting_link", "skipped_dates"):
            if name in self.changed_data:
                changes[name] = data[name]
        return changes


class SeriesCancelForm(SeriesScopeForm):
    prefix = "cancel"
    scopes = [
        ("this", "This session"),
        ("following", "This and following"),
        ("all", "All remaining"),
    ]
