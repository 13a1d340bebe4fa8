"""Bookings and the credit ledger, read-only in the admin.

Seats and credits move only through bookings.services (under their locks, with
ledger rows), so the admin offers actions that call them and no forms that
could bypass capacity or the ledger.
"""

from collections import defaultdict
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse

from accounts.admin import UserAdmin
from accounts.models import User
from activity.admin import ActivityHistoryMixin
from config.admin_base import ReadOnlyAdmin
from config.errors import DomainError

from .models import Booking, CreditTransaction, IdempotencyKey
from .services import MAX_GRANT, NOTE_MAX_LENGTH, adjust_credits, cancel_booking, grant_credits


@admin.register(Booking)
class BookingAdmin(ActivityHistoryMixin, ReadOnlyAdmin):
    # waitlist_position is a correlated subquery: the paginator computes it for the
    # page's ids only.
    list_display = (
        "id",
        "student",
        "session",
        "session_start",
        "status",
        "waitlist_position",
        "credits_charged",
        "created_at",
        "cancelled_at",
    )
    list_display_links = ("id",)
    list_filter = ("status", "session__semester", "session__session_type")
    list_select_related = ("student", "session")
    search_fields = ("student__username", "student__last_name", "session__title")
    date_hierarchy = "created_at"
    autocomplete_fields = ("student", "session")
    actions = ("cancel_selected_bookings",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Booking]:
        return super().get_queryset(request).with_waitlist_position()

    @admin.display(description="session starts", ordering="session__date_start")
    def session_start(self, booking: Booking) -> Any:
        return booking.session.date_start

    @admin.display(description="waitlist position")
    def waitlist_position(self, booking: Booking) -> int | None:
        return booking.waitlist_position

    def has_cancel_permission(self, request: HttpRequest) -> bool:
        # Nobody edits a booking here, so "change booking" is the right to cancel one.
        return request.user.has_perm("bookings.change_booking")

    @admin.action(description="Cancel selected bookings", permissions=["cancel"])
    def cancel_selected_bookings(self, request: HttpRequest, queryset: QuerySet[Booking]) -> None:
        cancelled = refunded = promoted = 0
        for booking in queryset.select_related("student", "session"):
            try:
                result = cancel_booking(booking=booking, by=request.user)
            except DomainError as error:
                self.message_user(request, f"{booking}: {error.message}", messages.ERROR)
                continue
            cancelled += 1
            refunded += result.credits_refunded
            promoted += len(result.promoted)
        if cancelled:
            self.message_user(
                request,
                f"Cancelled {cancelled} booking(s): {refunded} credit(s) refunded, "
                f"{promoted} waitlisted booking(s) promoted.",
                messages.SUCCESS,
            )


@admin.register(CreditTransaction)
class CreditTransactionAdmin(ReadOnlyAdmin):
    """The append-only ledger: grants and adjustments are made by the users' "Grant
    credits" and "Adjust credits" actions."""

    list_display = ("created_at", "user", "amount", "kind", "booking_id", "note", "created_by")
    list_filter = ("kind",)
    list_select_related = ("user", "created_by")
    search_fields = ("user__username", "user__last_name", "note")
    date_hierarchy = "created_at"
    autocomplete_fields = ("user", "booking", "created_by")


@admin.register(IdempotencyKey)
class IdempotencyKeyAdmin(ReadOnlyAdmin):
    list_display = ("key", "user", "endpoint", "response_status", "created_at")
    list_filter = ("response_status",)
    list_select_related = ("user",)
    search_fields = ("key", "user__username", "endpoint")
    date_hierarchy = "created_at"
    autocomplete_fields = ("user",)


PREVIEW = 20


class GrantCreditsForm(forms.Form):
    amount = forms.IntegerField(min_value=1, max_value=MAX_GRANT)
    note = forms.CharField(max_length=NOTE_MAX_LENGTH, required=False)


class AdjustCreditsForm(forms.Form):
    amount = forms.IntegerField(
        min_value=-MAX_GRANT,
        max_value=MAX_GRANT,
        help_text="Signed: positive adds credits, negative takes them.",
    )
    note = forms.CharField(max_length=NOTE_MAX_LENGTH, help_text="Why the balance is corrected.")

    def clean_amount(self) -> int:
        amount = self.cleaned_data["amount"]
        if amount == 0:
            raise ValidationError("An adjustment of 0 credits changes nothing.")
        return amount


class UserCreditsAdmin(UserAdmin):
    """The User admin with the "Grant credits" and "Adjust credits" actions, which write
    ledger rows.

    Credits are this app's: the actions live here and the User admin is registered
    again with them (accounts comes first in INSTALLED_APPS, so its registration is
    there to replace), so that accounts imports nothing of bookings.
    """

    actions = ("grant_credits_action", "adjust_credits_action")

    def has_grant_permission(self, request: HttpRequest) -> bool:
        # Granting writes ledger rows: it needs the right to add them.
        return request.user.has_perm("bookings.add_credittransaction")

    @admin.action(description="Grant credits to selected students", permissions=["grant"])
    def grant_credits_action(
        self, request: HttpRequest, queryset: QuerySet[User]
    ) -> TemplateResponse | None:
        return self._move_credits(
            request,
            queryset,
            form_class=GrantCreditsForm,
            service=grant_credits,
            action="grant_credits_action",
            title="Grant credits",
            intro="Each grant writes a ledger row; credits are granted to students only.",
            refused="Not granted to",
            done="Granted {amount} credit(s) to {count} student(s).",
        )

    @admin.action(
        description="Adjust credits of selected students (signed correction)",
        permissions=["grant"],
    )
    def adjust_credits_action(
        self, request: HttpRequest, queryset: QuerySet[User]
    ) -> TemplateResponse | None:
        return self._move_credits(
            request,
            queryset,
            form_class=AdjustCreditsForm,
            service=adjust_credits,
            action="adjust_credits_action",
            title="Adjust credits",
            intro="Each adjustment writes an adjustment ledger row with its note; a debit "
            "that would take a balance below zero is refused for that student.",
            refused="Not adjusted for",
            done="Adjusted {count} student(s) by {amount} credit(s).",
        )

    def _move_credits(
        self,
        request: HttpRequest,
        queryset: QuerySet[User],
        *,
        form_class: type[forms.Form],
        service: Any,
        action: str,
        title: str,
        intro: str,
        refused: str,
        done: str,
    ) -> TemplateResponse | None:
        """Ask for the amount and note, then call the service once per selected user."""
        form = form_class(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            moved = 0
            refusals: dict[str, list[str]] = defaultdict(list)
            for user in queryset.order_by("pk"):
                try:
                    service(
                        student=user,
                        amount=form.cleaned_data["amount"],
                        note=form.cleaned_data["note"],
                        by=request.user,
                    )
                except ValidationError as error:
                    for message in error.messages:
                        refusals[message].append(user.username)
                except DomainError as error:
                    refusals[error.message].append(user.username)
                else:
                    moved += 1
            for message, usernames in refusals.items():
                self.message_user(
                    request,
                    f"{refused} {len(usernames)} user(s) ({', '.join(usernames[:10])}): {message}",
                    messages.ERROR,
                )
            if moved:
                self.message_user(
                    request,
                    done.format(amount=form.cleaned_data["amount"], count=moved),
                    messages.SUCCESS,
                )
            return None
        context: dict[str, Any] = {
            **self.admin_site.each_context(request),
            "title": title,
            "intro": intro,
            "opts": self.opts,
            "form": form,
            # A preview: "select all" may have chosen thousands of users.
            "users": queryset.order_by("pk")[:PREVIEW],
            "user_count": (count := queryset.count()),
            "more": max(count - PREVIEW, 0),
            "selected": request.POST.getlist(ACTION_CHECKBOX_NAME),
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
            "action": action,
            "select_across": request.POST.get("select_across", "0"),
        }
        return TemplateResponse(request, "admin/accounts/user/grant_credits.html", context)


admin.site.unregister(User)
admin.site.register(User, UserCreditsAdmin)
