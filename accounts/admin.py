"""Users: the custom model with role, specialization and a read-only credit balance.

Credits move only through bookings.services.grant_credits (the "Grant credits"
action), which writes the ledger row with the balance.
"""

from collections import defaultdict
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse

from activity.admin import ActivityHistoryMixin
from bookings.services import MAX_GRANT, grant_credits
from config.errors import DomainError

from .models import User

# Autocomplete widgets whose field only makes sense for one role: (app, model, field).
INSTRUCTOR_FIELDS = {
    ("scheduling", "session", "instructor"),
    ("scheduling", "semester", "master_instructor"),
    ("scheduling", "instructorqualification", "instructor"),
}
STUDENT_FIELDS = {("scheduling", "group", "members")}
PREVIEW = 20


class GrantCreditsForm(forms.Form):
    amount = forms.IntegerField(min_value=1, max_value=MAX_GRANT)
    note = forms.CharField(max_length=255, required=False)


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
    actions = ("grant_credits_action",)
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

    def has_grant_permission(self, request: HttpRequest) -> bool:
        # Granting writes ledger rows: it needs the right to add them.
        return request.user.has_perm("bookings.add_credittransaction")

    @admin.action(description="Grant credits to selected students", permissions=["grant"])
    def grant_credits_action(
        self, request: HttpRequest, queryset: QuerySet[User]
    ) -> TemplateResponse | None:
        form = GrantCreditsForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            granted = 0
            refused: dict[str, list[str]] = defaultdict(list)
            for user in queryset.order_by("pk"):
                try:
                    grant_credits(
                        student=user,
                        amount=form.cleaned_data["amount"],
                        note=form.cleaned_data["note"],
                        by=request.user,
                    )
                except ValidationError as error:
                    for message in error.messages:
                        refused[message].append(user.username)
                except DomainError as error:
                    refused[error.message].append(user.username)
                else:
                    granted += 1
            for message, usernames in refused.items():
                self.message_user(
                    request,
                    f"Not granted to {len(usernames)} user(s) ({', '.join(usernames[:10])}): "
                    f"{message}",
                    messages.ERROR,
                )
            if granted:
                self.message_user(
                    request,
                    f"Granted {form.cleaned_data['amount']} credit(s) to {granted} student(s).",
                    messages.SUCCESS,
                )
            return None
        context: dict[str, Any] = {
            **self.admin_site.each_context(request),
            "title": "Grant credits",
            "opts": self.opts,
            "form": form,
            # A preview: "select all" may have chosen thousands of users.
            "users": queryset.order_by("pk")[:PREVIEW],
            "user_count": (count := queryset.count()),
            "more": max(count - PREVIEW, 0),
            "selected": request.POST.getlist(ACTION_CHECKBOX_NAME),
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
            "action": "grant_credits_action",
            "select_across": request.POST.get("select_across", "0"),
        }
        return TemplateResponse(request, "admin/accounts/user/grant_credits.html", context)
