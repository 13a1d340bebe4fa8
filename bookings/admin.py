"""Bookings and the credit ledger, read-only in the admin.

Seats and credits move only through bookings.services (under their locks, with
ledger rows), so the admin offers actions that call them and no forms that
could bypass capacity or the ledger.
"""

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from activity.admin import ActivityHistoryMixin
from config.errors import DomainError
from config.pagination import PageIdsFirstPaginator

from .models import Booking, CreditTransaction, IdempotencyKey
from .services import cancel_booking


class ReadOnlyAdmin(admin.ModelAdmin):
    """Viewable by staff, never added, changed or deleted here (superusers included).

    These tables grow with every booking, so their lists choose the page's ids
    first (without the joins of the displayed names) and skip Django's second,
    unfiltered COUNT(*) of the whole table.
    """

    paginator = PageIdsFirstPaginator
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


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
    """The append-only ledger: grants are made by the users' "Grant credits" action."""

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
