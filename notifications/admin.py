from django.contrib import admin
from django.http import HttpRequest

from .models import SentEmail


@admin.register(SentEmail)
class SentEmailAdmin(admin.ModelAdmin):
    """The delivery log, read-only: the last emails with their status (staff only, as the admin)."""

    list_display = ("created_at", "kind", "to_address", "subject", "status", "attempts", "sent_at")
    list_filter = ("status", "kind")
    search_fields = ("to_address", "subject", "key")
    date_hierarchy = "created_at"
    list_select_related = ("recipient",)
    readonly_fields = [field.name for field in SentEmail._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
