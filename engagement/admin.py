"""Attendance, feedback and projects in the staff admin.

Attendance and feedback are recorded through their services by the people the
rules name (instructors, students), so here they are read-only. Projects are
edited here, saved through engagement.services like everywhere else.
"""

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import AutocompleteSelectMultiple
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.http import HttpRequest

from config.admin_base import ReadOnlyAdmin, ServiceDeleteMixin, ServiceSaveMixin, copy_saved
from config.errors import DomainError
from scheduling.models import Session

from .models import Attendance, Feedback, Project, ProjectSession
from .services import project_create, project_delete, project_update


@admin.register(Attendance)
class AttendanceAdmin(ReadOnlyAdmin):
    list_display = ("session", "session_start", "student", "status", "marked_by", "marked_at")
    list_filter = ("status", "session__semester")
    list_select_related = ("session", "student", "marked_by")
    search_fields = ("student__username", "student__last_name", "session__title")
    date_hierarchy = "marked_at"
    autocomplete_fields = ("session", "student", "marked_by")

    @admin.display(description="session starts", ordering="session__date_start")
    def session_start(self, attendance: Attendance) -> Any:
        return attendance.session.date_start


@admin.register(Feedback)
class FeedbackAdmin(ReadOnlyAdmin):
    list_display = ("session", "student", "rating", "comment", "created_at")
    list_filter = ("rating", "session__semester")
    list_select_related = ("session", "student")
    search_fields = ("student__username", "session__title", "comment")
    date_hierarchy = "created_at"
    autocomplete_fields = ("session", "student")


class ProjectAdminForm(forms.ModelForm):
    # Project.sessions runs through ProjectSession, which a ModelAdmin cannot
    # edit directly; this field collects the ids and the service stores them.
    sessions = forms.ModelMultipleChoiceField(
        queryset=Session.objects.select_related("semester"),
        required=False,
        widget=AutocompleteSelectMultiple(Project._meta.get_field("sessions"), admin.site),
    )

    class Meta:
        model = Project
        fields = ("title", "description", "semester")


@admin.register(Project)
class ProjectAdmin(ServiceSaveMixin, ServiceDeleteMixin, admin.ModelAdmin):
    form = ProjectAdminForm
    list_display = ("title", "semester", "session_count")
    list_filter = ("semester",)
    list_select_related = ("semester",)
    search_fields = ("title", "semester__code")
    autocomplete_fields = ("semester",)

    def get_queryset(self, request: HttpRequest) -> Any:
        return super().get_queryset(request).annotate(session_total=Count("sessions"))

    @admin.display(description="sessions", ordering="session_total")
    def session_count(self, project: Project) -> int:
        return project.session_total

    def get_readonly_fields(self, request: HttpRequest, obj: Project | None = None) -> Any:
        # project_update keeps a project in its semester.
        return ("semester",) if obj else ()

    def save_model(
        self, request: HttpRequest, obj: Project, form: forms.ModelForm, change: bool
    ) -> None:
        sessions = form.cleaned_data.get("sessions", [])
        try:
            if change:
                project_update(
                    project=obj,
                    by=request.user,
                    title=obj.title,
                    description=obj.description,
                    sessions=sessions,
                )
            else:
                created = project_create(
                    by=request.user,
                    semester=obj.semester,
                    title=obj.title,
                    description=obj.description,
                    sessions=sessions,
                )
                copy_saved(created, obj)
        except (DomainError, ValidationError) as error:
            raise self.refusal(error) from error

    def save_related(
        self, request: HttpRequest, form: forms.ModelForm, formsets: Any, change: bool
    ) -> None:
        # The sessions were stored by the service; form.save_m2m() would bypass it.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    def blocking_of(self, obj: Project) -> dict[str, int]:
        # Nothing PROTECTs a project: its session links go with it.
        return {}

    def delete_through_service(self, request: HttpRequest, obj: Project) -> None:
        # Through the service, so that the deletion is recorded like the API's.
        project_delete(project=obj, by=request.user)


@admin.register(ProjectSession)
class ProjectSessionAdmin(ReadOnlyAdmin):
    """Links are edited on the project's page, through the project services."""

    list_display = ("project", "session")
    list_select_related = ("project", "session")
    search_fields = ("project__title", "session__title")
    autocomplete_fields = ("project", "session")
