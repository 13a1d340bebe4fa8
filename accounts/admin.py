"""Users: the custom model with role, specialization and a read-only credit balance.

Credits move only through bookings.services.grant_credits: the "Grant credits"
action is bookings' and is added to this admin by bookings/admin.py, so that
accounts, at the bottom of the apps, imports none above it.
"""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest

from activity.admin import ActivityHistoryMixin

from .models import User

# Autocomplete widgets whose field only makes sense for one role: (app, model, field).
INSTRUCTOR_FIELDS = {
    ("scheduling", "session", "instructor"),
    ("scheduling", "semester", "master_instructor"),
    ("scheduling", "instructorqualification", "instructor"),
}
STUDENT_FIELDS = {("scheduling", "group", "members")}


@admin.register(User)
class UserAdmin(ActivityHistoryMixin, DjangoUserAdmin):
    list_display = (
        "username",
        "email",
        "first_name",
        "last_name",
        "role",
        "specialization",
        "credit_balance",
        "is_staff",
    )
    list_filter = ("role", "is_staff", "is_active", "specialization")
    list_select_related = ("specialization",)
    autocomplete_fields = ("specialization",)
    readonly_fields = ("credit_balance",)
    date_hierarchy = "date_joined"
    fieldsets = (
        *DjangoUserAdmin.fieldsets,
        ("Practica", {"fields": ("role", "specialization", "credit_balance")}),
    )
    add_fieldsets = (
        *DjangoUserAdmin.add_fieldsets,
        ("Practica", {"fields": ("role", "specialization")}),
    )

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[User], search_term: str
    ) -> tuple[QuerySet[User], bool]:
        queryset, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        # The autocomplete of an instructor field offers instructors, of a
        # student field students (the widget names its field in the query string).
        source = (
            request.GET.get("app_label"),
            request.GET.get("model_name"),
            request.GET.get("field_name"),
        )
        if source in INSTRUCTOR_FIELDS:
            queryset = queryset.filter(role=User.Role.INSTRUCTOR)
        elif source in STUDENT_FIELDS:
            queryset = queryset.filter(role=User.Role.STUDENT)
        return queryset, may_have_duplicates
