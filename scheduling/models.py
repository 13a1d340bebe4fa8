from datetime import date
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from activity.changes import LoadedValues

from .querysets import SessionQuerySet

meeting_link_validator = URLValidator(schemes=["http", "https"])


class Specialization(models.Model):
    code = models.CharField(max_length=32, unique=True)
    name = models.CharField(max_length=120)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code


class InstructorQualificationQuerySet(models.QuerySet):
    def active_on(self, day: date) -> "InstructorQualificationQuerySet":
        return self.filter(valid_from__lte=day).filter(
            Q(valid_until__isnull=True) | Q(valid_until__gte=day)
        )

    def active_today(self) -> "InstructorQualificationQuerySet":
        """Active on the academy's today (settings.TIME_ZONE), whatever zone the page of
        the person asking runs in: a qualification's days are the academy's."""
        return self.active_on(timezone.localdate(timezone=timezone.get_default_timezone()))


class InstructorQualification(models.Model):
    instructor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="qualifications"
    )
    specialization = models.ForeignKey(
        Specialization, on_delete=models.PROTECT, related_name="qualifications"
    )
    valid_from = models.DateField()
    valid_until = models.DateField(null=True, blank=True)

    objects = InstructorQualificationQuerySet.as_manager()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_until__isnull=True) | Q(valid_until__gte=F("valid_from")),
                name="qualification_valid_until_after_valid_from",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.instructor}: {self.specialization}"


class Semester(LoadedValues, models.Model):
    code = models.CharField(max_length=32, unique=True)
    name = models.CharField(max_length=120)
    start_date = models.DateField()
    end_date = models.DateField()
    location = models.CharField(max_length=200, blank=True)
    is_active = models.BooleanField(default=True)
    master_instructor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="mastered_semesters"
    )

    class Meta:
        ordering = ["-start_date", "code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_date__gte=F("start_date")), name="semester_end_on_or_after_start"
            ),
        ]

    def __str__(self) -> str:
        return self.code

    def clean(self) -> None:
        if self.start_date and self.end_date and self.end_date < self.start_date:
            raise ValidationError({"end_date": "The semester cannot end before it starts."})


class Group(models.Model):
    name = models.CharField(max_length=120)
    semester = models.ForeignKey(Semester, on_delete=models.PROTECT, related_name="groups")
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="study_groups"
    )

    class Meta:
        ordering = ["semester", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["semester", "name"], name="group_name_unique_in_semester"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.semester.code} / {self.name}" if self.semester_id else self.name


class Session(models.Model):
    class SessionType(models.TextChoices):
        ON_SITE = "on_site", "On site"
        VIRTUAL = "virtual", "Virtual"
        HYBRID = "hybrid", "Hybrid"

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        CANCELLED = "cancelled", "Cancelled"

    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    semester = models.ForeignKey(Semester, on_delete=models.PROTECT, related_name="sessions")
    instructor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="taught_sessions"
    )
    group = models.ForeignKey(
        Group, on_delete=models.PROTECT, null=True, blank=True, related_name="sessions"
    )
    target_specialization = models.ForeignKey(
        Specialization, on_delete=models.PROTECT, null=True, blank=True, related_name="sessions"
    )
    mixed_specialization = models.BooleanField(default=False)
    session_type = models.CharField(
        max_length=16, choices=SessionType.choices, default=SessionType.ON_SITE
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.SCHEDULED)
    date_start = models.DateTimeField()
    date_end = models.DateTimeField()
    capacity = models.PositiveIntegerField(default=20)
    credit_cost = models.PositiveIntegerField(default=1)
    location = models.CharField(max_length=200, blank=True)
    meeting_link = models.URLField(max_length=500, blank=True, validators=[meeting_link_validator])
    # Staff may let a session overlap its instructor's or its room's other sessions
    # (a double-booked hall on purpose); the reason is required and recorded.
    allow_overlap = models.BooleanField(default=False)
    overlap_reason = models.CharField(max_length=200, blank=True)
    series = models.ForeignKey(
        "SessionSeries",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="occurrences",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = SessionQuerySet.as_manager()

    class Meta:
        ordering = ["date_start", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(capacity__gte=1), name="session_capacity_at_least_one"
            ),
            models.CheckConstraint(
                condition=Q(credit_cost__gte=0), name="session_credit_cost_non_negative"
            ),
            models.CheckConstraint(
                condition=Q(date_end__gt=F("date_start")), name="session_ends_after_start"
            ),
            models.CheckConstraint(
                condition=Q(session_type="virtual") | Q(meeting_link=""),
                name="session_meeting_link_only_when_virtual",
            ),
            models.CheckConstraint(
                condition=Q(allow_overlap=False) | ~Q(overlap_reason=""),
                name="session_overlap_needs_reason",
            ),
        ]
        # PostgreSQL also holds `session_instructor_no_overlap`, an exclusion constraint
        # over (instructor, [date_start, date_end)) for scheduled sessions without
        # allow_overlap: migration 0002 adds it, SQLite has no equivalent.
        indexes = [
            # Semester lists and the student catalogue: WHERE semester_id = ? ORDER BY date_start.
            models.Index(fields=["semester", "date_start"], name="session_semester_start_idx"),
            # "My sessions" and the instructor filter: WHERE instructor_id = ? ORDER BY date_start.
            models.Index(fields=["instructor", "date_start"], name="session_instructor_start_idx"),
            # Every paginated list: ORDER BY date_start, id LIMIT/OFFSET over the ids only.
            models.Index(fields=["date_start", "id"], name="session_start_id_idx"),
            # A series' occurrences: WHERE series_id = ? ORDER BY date_start.
            models.Index(fields=["series", "date_start"], name="session_series_start_idx"),
        ]

    def __str__(self) -> str:
        return self.title

    @classmethod
    def from_db(cls, db: Any, field_names: Any, values: Any) -> "Session":
        instance = super().from_db(db, field_names, values)
        # Remembered so that clean() can tell a link kept from before a type change
        # (cleared silently) from a link newly given for a non-virtual type (an error).
        instance._loaded_meeting_link = instance.__dict__.get("meeting_link")
        return instance

    @property
    def is_virtual(self) -> bool:
        return self.session_type == self.SessionType.VIRTUAL

    def has_started(self, now: Any = None) -> bool:
        return (now or timezone.now()) >= self.date_start

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if self.date_start and self.date_end and self.date_end <= self.date_start:
            errors["date_end"] = "The session must end after it starts."
        if self.capacity is not None and self.capacity < 1:
            errors["capacity"] = "Capacity must be at least 1."
        if self.semester_id:
            semester = self.semester
            # The academy's days (settings.TIME_ZONE), whatever zone the editor's page uses.
            academy = timezone.get_default_timezone()
            if (
                self.date_start
                and timezone.localdate(self.date_start, academy) < semester.start_date
            ):
                errors["date_start"] = (
                    f"The session must start within semester {semester.code} "
                    f"({semester.start_date} to {semester.end_date})."
                )
            if self.date_end and timezone.localdate(self.date_end, academy) > semester.end_date:
                errors["date_end"] = (
                    f"The session must end within semester {semester.code} "
                    f"({semester.start_date} to {semester.end_date})."
                )
            if self.group_id and self.group.semester_id != self.semester_id:
                errors["group"] = "The group belongs to another semester."
            if not self.location and self.session_type != self.SessionType.VIRTUAL:
                self.location = semester.location
        # The link's form is the field's validator (clean_fields); here only its place.
        if self.meeting_link and not self.is_virtual:
            if self.meeting_link == getattr(self, "_loaded_meeting_link", None):
                self.meeting_link = ""
            else:
                errors["meeting_link"] = "A meeting link is only allowed for virtual sessions."
        if self.allow_overlap and not self.overlap_reason.strip():
            errors["overlap_reason"] = "Allowing an overlap needs a reason."
        if not self.allow_overlap:
            self.overlap_reason = ""
        if errors:
            raise ValidationError(errors)


class SessionSeries(models.Model):
    """A recurring session: a template of the session's fields and a weekly rule.

    Its occurrences are ordinary `Session` rows pointing at it (`occurrences`), so
    booking, lists, statistics and deletion rules work on them unchanged. The rule's
    times are wall-clock times in `settings.TIME_ZONE` (scheduling/recurrence.py).
    """

    semester = models.ForeignKey(Semester, on_delete=models.PROTECT, related_name="series")
    # The template: what each occurrence is created with.
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    instructor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="taught_series"
    )
    group = models.ForeignKey(
        Group, on_delete=models.PROTECT, null=True, blank=True, related_name="series"
    )
    target_specialization = models.ForeignKey(
        Specialization, on_delete=models.PROTECT, null=True, blank=True, related_name="series"
    )
    mixed_specialization = models.BooleanField(default=False)
    session_type = models.CharField(
        max_length=16, choices=Session.SessionType.choices, default=Session.SessionType.ON_SITE
    )
    capacity = models.PositiveIntegerField(default=20)
    credit_cost = models.PositiveIntegerField(default=1)
    location = models.CharField(max_length=200, blank=True)
    meeting_link = models.URLField(max_length=500, blank=True, validators=[meeting_link_validator])
    # The rule: ISO weekdays (1 = Monday .. 7 = Sunday), a local start time and a
    # duration, from `first_date` until `until_date` or for `count` occurrences.
    weekdays = models.JSONField()
    start_time = models.TimeField()
    duration_minutes = models.PositiveIntegerField()
    first_date = models.DateField()
    until_date = models.DateField(null=True, blank=True)
    count = models.PositiveIntegerField(null=True, blank=True)
    skipped_dates = models.JSONField(default=list, blank=True)
    # A "this and following" change of the time splits a series: the later
    # occurrences move to a new series that points back at the one they left.
    split_from = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="splits"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["semester", "first_date", "id"]
        verbose_name_plural = "session series"
        constraints = [
            models.CheckConstraint(
                condition=(Q(until_date__isnull=True) & Q(count__isnull=False))
                | (Q(until_date__isnull=False) & Q(count__isnull=True)),
                name="series_until_xor_count",
            ),
            models.CheckConstraint(
                condition=Q(until_date__isnull=True) | Q(until_date__gte=F("first_date")),
                name="series_until_on_or_after_first",
            ),
            models.CheckConstraint(
                condition=Q(count__isnull=True) | Q(count__gte=1), name="series_count_at_least_one"
            ),
            models.CheckConstraint(
                condition=Q(duration_minutes__gte=1), name="series_duration_at_least_one_minute"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.semester.code})" if self.semester_id else self.title
