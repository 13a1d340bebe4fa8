"""The activity log in the admin: a read-only changelist, and the "History" button of
other change pages (Django's object history) pointing at it, filtered to the object."""

from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import reverse

from config.pagination import PageIdsFirstPaginator

from .models import Activity
from .verbs import ALL_VERBS


class VerbFilter(admin.SimpleListFilter):
    """The verbs from verbs.py: no DISTINCT scan of the table to list them."""

    title = "verb"
    parameter_name = "verb"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(verb, verb) for verb in ALL_VERBS]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return queryset.filter(verb=self.value()) if self.value() else queryset


class UserFilter(admin.SimpleListFilter):
    """`?user=<id>`: what a user did or what concerned them (the user page's History)."""

    title = "user (actor or student)"
    parameter_name = "user"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        value = self.value()
        return [(value, f"User #{value}")] if value and value.isdigit() else []

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        if not value:
            return queryset
        if not value.isdigit():
            return queryset.none()
        return queryset.filter(Q(actor_id=value) | Q(student_id=value))


@admin.register(Activity)
class ActivityAdmin(admin.ModelAdmin):
    list_display = ("created_at", "verb", "actor", "student", "session_id", "target", "data")
    list_select_related = ("actor", "student")
    list_filter = (VerbFilter, ("actor", admin.RelatedOnlyFieldListFilter), UserFilter)
    date_hierarchy = "created_at"
    search_fields = ("student__username",)
    search_help_text = "A session id, or a student's username."
    # The page's ids first, and no second COUNT(*) of the whole table (it only grows).
    paginator = PageIdsFirstPaginator
    show_full_result_count = False

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        term = search_term.strip()
        if term.isdigit():
            return queryset.filter(
                Q(session_id=int(term)) | Q(student__username__icontains=term)
            ), False
        return super().get_search_results(request, queryset, search_term)

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest | None = None) -> bool:
        # The History links of the session and booking pages.
        if lookup in {"session_id", "target_type", "target_id"}:
            return True
        return super().lookup_allowed(lookup, value, request)

    @admin.display(description="target")
    def target(self, activity: Activity) -> str:
        return f"{activity.target_type} #{activity.target_id}"

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def history_query(obj: Any) -> dict[str, Any]:
    """The changelist filter that shows an object's history."""
    label = obj._meta.label_lower
    if label == "scheduling.session":
        return {"session_id": obj.pk}
    if label == settings.AUTH_USER_MODEL.lower():
        return {"user": obj.pk}
    return {"target_type": label, "target_id": obj.pk}


class ActivityHistoryMixin:
    """A ModelAdmin mixin: the change page's "History" button opens the activity log,
    filtered to the object, instead of Django's own admin log."""

    def history_view(
        self, request: HttpRequest, object_id: str, extra_context: Any = None
    ) -> HttpResponseRedirect:
        obj = self.get_object(request, unquote(object_id))  # type: ignore[attr-defined]
        if obj is None:
            return self._get_obj_does_not_exist_redirect(  # type: ignore[attr-defined]
                request, self.opts, object_id
            )
        if not self.has_view_or_change_permission(request, obj):  # type: ignore[attr-defined]
            raise PermissionDenied
        url = reverse("admin:activity_activity_changelist")
        return HttpResponseRedirect(f"{url}?{urlencode(history_query(obj))}")
