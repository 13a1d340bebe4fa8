"""Staff admin for semesters, groups and sessions.

Writes that carry rules (creating, editing and deleting semesters, groups and
sessions, cancelling sessions) go through scheduling.services and
bookings.services, so the admin enforces and records what the API and the pages
do. Lists read their statistics from `Session.objects.with_stats()` for the rows of
the page only.
"""

import csv
from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path

from activity.admin import ActivityHistoryMixin
from bookings.errors import CAPACITY_BELOW_CONFIRMED
from bookings.models import Booking
from bookings.services import cancel_session, session_update
from config.admin_base import ServiceDeleteMixin, ServiceSaveMixin, copy_saved
from config.errors import DomainError
from config.pagination import PageIdsFirstPaginator

from .errors import INSTRUCTOR_BUSY, LOCATION_BUSY, NOT_QUALIFIED
from .models import (
    Group,
    InstructorQualification,
    Semester,
    Session,
    SessionSeries,
    Specialization,
)
from .querysets import SESSION_STATISTICS
from .series import MAX_SHIFT_WEEKS, semester_copy, semester_copy_plan
from .services import (
    EDITABLE_FIELDS,
    GROUP_FIELDS,
    SEMESTER_FIELDS,
    blocking_relations,
    group_blocking_relations,
    group_create,
    group_delete,
    group_update,
    semester_blocking_relations,
    semester_create,
    semester_delete,
    semester_update,
    session_create,
    session_delete,
)


def stat_column(name: str, description: str) -> Callable[[Any, Session], Any]:
    """An admin column reading a `with_stats()` annotation, sortable by it."""

    @admin.display(description=description, ordering=name)
    def column(model_admin: Any, session: Session) -> Any:
        value = getattr(session, name, None)
        if name == "average_rating" and value is not None:
            return f"{value:.2f}"
        return value

    column.__name__ = name
    return column


# Every column of the CSV export: the session's fields, then its statistics.
CSV_FIELDS: tuple[tuple[str, Callable[[Session], Any]], ...] = (
    ("id", lambda s: s.pk),
    ("title", lambda s: s.title),
    ("description", lambda s: s.description),
    ("semester", lambda s: s.semester.code),
    ("instructor", lambda s: s.instructor.username),
    ("instructor_name", lambda s: s.instructor.display_name),
    ("group", lambda s: s.group.name if s.group_id else ""),
    (
        "target_specialization",
        lambda s: s.target_specialization.code if s.target_specialization_id else "",
    ),
    ("mixed_specialization", lambda s: s.mixed_specialization),
    ("session_type", lambda s: s.session_type),
    ("status", lambda s: s.status),
    ("date_start", lambda s: s.date_start.isoformat()),
    ("date_end", lambda s: s.date_end.isoformat()),
    ("capacity", lambda s: s.capacity),
    ("credit_cost", lambda s: s.credit_cost),
    ("location", lambda s: s.location),
    ("meeting_link", lambda s: s.meeting_link),
    ("allow_overlap", lambda s: s.allow_overlap),
    ("overlap_reason", lambda s: s.overlap_reason),
    ("series", lambda s: s.series_id or ""),
    ("created_at", lambda s: s.created_at.isoformat()),
    ("updated_at", lambda s: s.updated_at.isoformat()),
    *((name, lambda s, name=name: getattr(s, name)) for name in SESSION_STATISTICS),
)


def csv_safe(value: Any) -> Any:
    """Defuse spreadsheet formulas in free text (CSV injection)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def is_autocomplete(request: HttpRequest) -> bool:
    match = getattr(request, "resolver_match", None)
    return getattr(match, "url_name", None) == "autocomplete"


@admin.register(Specialization)
class SpecializationAdmin(admin.ModelAdmin):
    list_display = ("code", "name")
    search_fields = ("code", "name")


@admin.register(InstructorQualification)
class InstructorQualificationAdmin(admin.ModelAdmin):
    list_display = ("instructor", "specialization", "valid_from", "valid_until")
    list_filter = ("specialization",)
    list_select_related = ("instructor", "specialization")
    search_fields = ("instructor__username", "instructor__last_name", "specialization__code")
    autocomplete_fields = ("instructor", "specialization")
    date_hierarchy = "valid_from"


class SemesterCopyForm(forms.Form):
    target = forms.ModelChoiceField(
        queryset=Semester.objects.order_by("-start_date"), label="Into semester"
    )
    weeks = forms.IntegerField(
        min_value=-MAX_SHIFT_WEEKS,
        max_value=MAX_SHIFT_WEEKS,
        label="Shift by weeks",
        help_text="Every date moves by this many whole weeks; weekdays and times stay.",
    )


@admin.register(Semester)
class SemesterAdmin(ServiceSaveMixin, ServiceDeleteMixin, admin.ModelAdmin):
    list_display = (
        "code",
        "name",
        "start_date",
        "end_date",
        "location",
        "is_active",
        "master_instructor",
    )
    list_filter = ("is_active",)
    list_select_related = ("master_instructor",)
    search_fields = ("code", "name", "location")
    autocomplete_fields = ("master_instructor",)
    date_hierarchy = "start_date"

    def save_model(
        self, request: HttpRequest, obj: Semester, form: ModelForm, change: bool
    ) -> None:
        try:
            if change:
                changes = {
                    name: getattr(obj, name)
                    for name in form.changed_data
                    if name in SEMESTER_FIELDS
                }
                semester_update(semester=obj, by=request.user, **changes)
            else:
                fields = {name: getattr(obj, name) for name in SEMESTER_FIELDS}
                copy_saved(semester_create(by=request.user, **fields), obj)
        except (DomainError, ValidationError) as error:
            raise self.refusal(error) from error

    def blocking_of(self, obj: Semester) -> dict[str, int]:
        return semester_blocking_relations(obj)

    def get_urls(self) -> list[Any]:
        copy_view = self.admin_site.admin_view(self.copy_series_view)
        return [
            path("<int:pk>/copy-series/", copy_view, name="scheduling_semester_copy_series"),
            *super().get_urls(),
        ]

    def copy_series_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """Copy the semester's series into another, shifted by whole weeks: "Preview"
        lists every series' dates and every problem; "Copy" creates all or nothing."""
        source = get_object_or_404(Semester, pk=pk)
        if not request.user.is_staff or not self.has_change_permission(request, source):
            raise PermissionDenied
        form = SemesterCopyForm(request.POST or None)
        plan, problems = None, None
        if request.method == "POST" and form.is_valid():
            fields = {
                "by": request.user,
                "source": source,
                "target": form.cleaned_data["target"],
                "weeks": form.cleaned_data["weeks"],
            }
            try:
                if "apply" in request.POST:
                    created = semester_copy(**fields)
                    count = sum(series.occurrences.count() for series in created)
                    self.message_user(
                        request,
                        f"Copied {len(created)} series ({count} sessions) into "
                        f"{fields['target'].code}.",
                        messages.SUCCESS,
                    )
                    return redirect("admin:scheduling_sessionseries_changelist")
                plan = semester_copy_plan(**fields)
            except ValidationError as error:
                form.add_error(None, error.messages)
            except DomainError as error:
                form.add_error(None, error.message)
                problems = error.extra.get("problems")
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": source,
            "title": f"Copy the series of {source.code}",
            "form": form,
            "plan": plan,
            "problems": problems if plan is None else plan.problems,
        }
        return render(request, "admin/scheduling/semester/copy_series.html", context)

    def delete_through_service(self, request: HttpRequest, obj: Semester) -> None:
        semester_delete(semester=obj, by=request.user)


@admin.register(Group)
class GroupAdmin(ServiceSaveMixin, ServiceDeleteMixin, admin.ModelAdmin):
    list_display = ("name", "semester")
    list_filter = ("semester",)
    list_select_related = ("semester",)
    search_fields = ("name", "semester__code")
    autocomplete_fields = ("semester", "members")

    def get_readonly_fields(self, request: HttpRequest, obj: Group | None = None) -> Any:
        # Sessions refer to their group within one semester; moving it would break that.
        return ("semester",) if obj else ()

    def save_model(self, request: HttpRequest, obj: Group, form: ModelForm, change: bool) -> None:
        # The members are saved here by the service, not by the form's save_m2m()
        # (see save_related), so that the activity names who joined and who left.
        try:
            if change:
                changes = {
                    name: getattr(obj, name) for name in form.changed_data if name in GROUP_FIELDS
                }
                if "members" in form.changed_data:
                    changes["members"] = form.cleaned_data["members"]
                group_update(group=obj, by=request.user, **changes)
            else:
                group = group_create(
                    by=request.user,
                    name=obj.name,
                    semester=obj.semester,
                    members=form.cleaned_data.get("members", ()),
                )
                copy_saved(group, obj)
        except (DomainError, ValidationError) as error:
            raise self.refusal(error) from error

    def save_related(
        self, request: HttpRequest, form: ModelForm, formsets: Any, change: bool
    ) -> None:
        # Not form.save_m2m(): save_model's service has written the members.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    def blocking_of(self, obj: Group) -> dict[str, int]:
        return group_blocking_relations(obj)

    def delete_through_service(self, request: HttpRequest, obj: Group) -> None:
        group_delete(group=obj, by=request.user)


class SessionBookingInline(admin.TabularInline):
    """The roster on the session page: read-only, bookings change only through services."""

    model = Booking
    fields = ("student", "status", "waitlist_position", "credits_charged", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def get_queryset(self, request: HttpRequest) -> QuerySet[Booking]:
        # Each row's change link shows str(booking), which names the student and the session.
        return (
            super()
            .get_queryset(request)
            .select_related("student", "session")
            .with_waitlist_position()
        )

    @admin.display(description="waitlist position")
    def waitlist_position(self, booking: Booking) -> int | None:
        return booking.waitlist_position

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Session)
class SessionAdmin(ActivityHistoryMixin, ServiceSaveMixin, ServiceDeleteMixin, admin.ModelAdmin):
    # The statistics are computed for the page's ids only; the count carries none.
    paginator = PageIdsFirstPaginator
    list_display = (
        "title",
        "semester",
        "instructor",
        "session_type",
        "status",
        "date_start",
        "capacity",
        "credit_cost",
        *SESSION_STATISTICS,
    )
    list_filter = (
        "semester",
        "session_type",
        "status",
        # Only users who teach a session, not every user of the academy.
        ("instructor", admin.RelatedOnlyFieldListFilter),
        "target_specialization",
    )
    list_select_related = ("semester", "instructor")
    search_fields = (
        "title",
        "location",
        "semester__code",
        "instructor__username",
        "instructor__last_name",
    )
    date_hierarchy = "date_start"
    autocomplete_fields = ("semester", "instructor", "group", "target_specialization")
    inlines = (SessionBookingInline,)
    # Django 6 assumes https for scheme-less links; say so now.
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    actions = ("cancel_selected_sessions", "export_csv")
    service_error_fields = {
        NOT_QUALIFIED: "target_specialization",
        CAPACITY_BELOW_CONFIRMED: "capacity",
        INSTRUCTOR_BUSY: "instructor",
        LOCATION_BUSY: "location",
    }
    fieldsets = (
        (None, {"fields": ("title", "description", "semester", "instructor", "group")}),
        ("Audience", {"fields": ("target_specialization", "mixed_specialization")}),
        (
            "When and where",
            {"fields": ("session_type", "date_start", "date_end", "location", "meeting_link")},
        ),
        ("Seats", {"fields": ("capacity", "credit_cost", "status")}),
        ("Overlap and series", {"fields": ("allow_overlap", "overlap_reason", "series")}),
        ("Record", {"fields": ("created_at", "updated_at")}),
    )
    statistics_fieldset = ("Statistics", {"fields": SESSION_STATISTICS})

    booking_count = stat_column("booking_count", "bookings")
    confirmed_count = stat_column("confirmed_count", "confirmed")
    waitlist_count = stat_column("waitlist_count", "waitlisted")
    available_spots = stat_column("available_spots", "free")
    attendance_count = stat_column("attendance_count", "attended")
    feedback_count = stat_column("feedback_count", "feedback")
    average_rating = stat_column("average_rating", "rating")
    project_count = stat_column("project_count", "projects")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Session]:
        queryset = super().get_queryset(request)
        if is_autocomplete(request):
            return queryset
        return queryset.with_stats()

    def get_fieldsets(self, request: HttpRequest, obj: Session | None = None) -> Any:
        if obj is None:
            return self.fieldsets
        return (*self.fieldsets, self.statistics_fieldset)

    def get_readonly_fields(self, request: HttpRequest, obj: Session | None = None) -> Any:
        # Status changes only by the cancel action (it refunds); the semester is
        # fixed once the session exists (SPEC §3).
        fixed = ("status", "series", "created_at", "updated_at")
        if obj is None:
            return fixed
        return ("semester", *fixed, *SESSION_STATISTICS)

    def has_change_permission(self, request: HttpRequest, obj: Session | None = None) -> bool:
        # A cancelled session is history: the service refuses edits, the page shows it.
        if obj is not None and obj.status == Session.Status.CANCELLED:
            return False
        return super().has_change_permission(request, obj)

    def save_model(self, request: HttpRequest, obj: Session, form: ModelForm, change: bool) -> None:
        try:
            if change:
                changes = {
                    name: getattr(obj, name)
                    for name in form.changed_data
                    if name in EDITABLE_FIELDS
                }
                session_update(session=obj, by=request.user, **changes)
            else:
                fields = {name: getattr(obj, name) for name in EDITABLE_FIELDS}
                copy_saved(session_create(by=request.user, semester=obj.semester, **fields), obj)
        except (DomainError, ValidationError) as error:
            raise self.refusal(error) from error

    protected_hint = " (cancel it instead: that refunds its bookings)"

    def blocking_of(self, obj: Session) -> dict[str, int]:
        return blocking_relations(obj)

    def delete_through_service(self, request: HttpRequest, obj: Session) -> None:
        session_delete(session=obj, by=request.user)

    @admin.action(description="Cancel selected sessions (refund bookings)", permissions=["change"])
    def cancel_selected_sessions(self, request: HttpRequest, queryset: QuerySet[Session]) -> None:
        cancelled = bookings = credits = 0
        for session in queryset.select_related("semester"):
            try:
                result = cancel_session(session=session, by=request.user)
            except DomainError as error:
                self.message_user(request, f"{session}: {error.message}", messages.ERROR)
                continue
            cancelled += 1
            bookings += result.bookings_cancelled
            credits += result.credits_refunded
        if cancelled:
            self.message_user(
                request,
                f"Cancelled {cancelled} session(s): {bookings} booking(s) cancelled, "
                f"{credits} credit(s) refunded.",
                messages.SUCCESS,
            )

    @admin.action(description="Export selected as CSV")
    def export_csv(self, request: HttpRequest, queryset: QuerySet[Session]) -> HttpResponse:
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="sessions.csv"'
        writer = csv.writer(response)
        writer.writerow([name for name, _ in CSV_FIELDS])
        # One statement: the fields, the related names and every statistic.
        rows = queryset.select_related("semester", "instructor", "group", "target_specialization")
        for session in rows:
            writer.writerow([csv_safe(read(session)) for _, read in CSV_FIELDS])
        return response


class OccurrenceInline(admin.TabularInline):
    """A series' occurrences, read-only: each is edited as a session, or with a scope
    through the API."""

    model = Session
    fields = ("title", "date_start", "date_end", "status", "location")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True
    ordering = ("date_start", "id")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(SessionSeries)
class SessionSeriesAdmin(admin.ModelAdmin):
    """Series are listed here; they are created and changed through the services (API),
    which validate every occurrence: the admin shows them read-only."""

    list_display = (
        "title",
        "semester",
        "instructor",
        "weekdays",
        "start_time",
        "first_date",
        "until_date",
        "count",
        "occurrence_count",
    )
    list_filter = ("semester",)
    search_fields = ("title",)
    list_select_related = ("semester", "instructor")
    inlines = [OccurrenceInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[SessionSeries]:
        # The list's occurrence counts in the same statement as the rows.
        return super().get_queryset(request).annotate(occurrence_total=models.Count("occurrences"))

    @admin.display(description="occurrences", ordering="occurrence_total")
    def occurrence_count(self, series: SessionSeries) -> int:
        return series.occurrence_total

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [field.name for field in SessionSeries._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
