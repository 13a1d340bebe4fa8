"""The admin's shared plumbing: every app's admin builds on these.

- `ReadOnlyAdmin`: tables that only services write (bookings, the ledger,
  attendance, feedback) are viewable, never edited, in the admin.
- `ServiceSaveMixin` and `ServiceDeleteMixin`: the admin saves and deletes
  through the same services as the API and the pages, and shows their refusals
  the way it shows validation errors.
- `copy_saved`: hands a create service's row back to the admin's instance.

They live in config, beside the other cross-app plumbing (errors, the
transaction boundary, pagination), so that no app's admin imports another's.
"""

from collections.abc import Iterable
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from .errors import DomainError
from .pagination import PageIdsFirstPaginator


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


class ServiceRefused(Exception):
    """A service refused a save the form had accepted; carries errors keyed by field."""

    def __init__(self, errors: dict[str | None, list[str]]) -> None:
        super().__init__(errors)
        self.errors = errors


class ServiceSaveMixin:
    """Save through a service and show its refusal on the form, like a validation error.

    The form validates first (full_clean, so Model.clean()), then `save_model`
    calls the service, which re-checks under its locks. When the service refuses
    (a race, a rule only it can check), the admin's transaction rolls back and the
    form is shown again with the refusal on the field the error code names.
    """

    # Domain error code -> the form field its message belongs on (None: the form).
    service_error_fields: dict[str, str] = {}

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ServiceRefused as refused:
            # The first pass ran in transaction.atomic, which the exception rolled
            # back; the second only validates and renders, adding the refusal.
            request.service_refusal = refused.errors
            return super().changeform_view(request, object_id, form_url, extra_context)

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> type[ModelForm]:
        form_class = super().get_form(request, obj, change, **kwargs)
        refusal = getattr(request, "service_refusal", None)
        if not refusal:
            return form_class

        class RefusedForm(form_class):
            def clean(self) -> dict[str, Any]:
                cleaned = super().clean()
                for field, errors in refusal.items():
                    self.add_error(field if field in self.fields else None, errors)
                return cleaned

        return RefusedForm

    def refusal(self, error: Exception) -> ServiceRefused:
        if isinstance(error, ValidationError):
            if hasattr(error, "error_dict"):
                return ServiceRefused(dict(error.message_dict))
            return ServiceRefused({None: error.messages})
        assert isinstance(error, DomainError)
        return ServiceRefused({self.service_error_fields.get(error.code): [error.message]})


class ServiceDeleteMixin:
    """Delete through a service; a blocked delete shows Django's protected page with counts.

    Django's own collector would list every protecting row (each booking by
    name, a query or two per row); the services count them in one query per
    object, and their delete re-checks under a lock with PROTECT as the backstop.
    """

    # Appended to each protected object's line on Django's "cannot delete" page.
    protected_hint = ""

    def blocking_of(self, obj: Any) -> dict[str, int]:
        raise NotImplementedError

    def delete_through_service(self, request: HttpRequest, obj: Any) -> None:
        raise NotImplementedError

    def get_deleted_objects(
        self, objs: Iterable[Any], request: HttpRequest
    ) -> tuple[list[Any], dict[str, int], set[str], list[str]]:
        objs = list(objs)
        protected = []
        for obj in objs:
            blocking = self.blocking_of(obj)
            if any(blocking.values()):
                listed = ", ".join(f"{count} {name}" for name, count in blocking.items() if count)
                protected.append(f"{obj}: referenced by {listed}{self.protected_hint}")
        if protected:
            return [], {}, set(), protected
        return super().get_deleted_objects(objs, request)

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        self.delete_through_service(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        for obj in queryset:
            try:
                self.delete_through_service(request, obj)
            except DomainError as error:
                self.message_user(request, f"{obj}: {error.message}", messages.ERROR)

    def delete_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        try:
            return super().delete_view(request, object_id, extra_context)
        except DomainError as error:
            # Something came to refer to it after the confirmation page: nothing was deleted.
            self.message_user(request, error.message, messages.ERROR)
            opts = self.model._meta
            return HttpResponseRedirect(
                reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[object_id])
            )


def copy_saved(source: Any, target: Any) -> None:
    """Give the admin's unsaved instance the row a create service saved."""
    for field in type(source)._meta.concrete_fields:
        setattr(target, field.attname, getattr(source, field.attname))
    target._state.adding = False
