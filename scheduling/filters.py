"""The session filters, shared by the API list and the instructor pages."""

from datetime import date, datetime, time
from typing import Any

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils import timezone
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework.request import Request
from rest_framework.views import APIView

from config.filters import IdFilter, UpdatedSinceFilter, UtcIsoDateTimeFilter

from .models import Group, Session
from .querysets import SessionQuerySet


class StrictBooleanField(forms.Field):
    """true/false (or 1/0); anything else is invalid rather than silently ignored."""

    widget = forms.TextInput

    def to_python(self, value: Any) -> bool | None:
        if value in (None, ""):
            return None
        text = str(value).strip().lower()
        if text in {"true", "1"}:
            return True
        if text in {"false", "0"}:
            return False
        raise ValidationError("Enter true or false.", code="invalid")


@extend_schema_field(OpenApiTypes.BOOL)
class StrictBooleanFilter(django_filters.BooleanFilter):
    field_class = StrictBooleanField


class SessionFilter(django_filters.FilterSet):
    # Plain id and code filters, not ModelChoiceFilters: those would spend a query
    # per request validating that the id exists; an unknown id simply matches nothing.
    semester = IdFilter(field_name="semester_id")
    instructor = IdFilter(field_name="instructor_id")
    group = IdFilter(field_name="group_id")
    target_specialization = django_filters.CharFilter(
        field_name="target_specialization__code", max_length=32
    )
    session_type = django_filters.ChoiceFilter(choices=Session.SessionType.choices)
    status = django_filters.ChoiceFilter(choices=Session.Status.choices)
    date_from = UtcIsoDateTimeFilter(field_name="date_start", lookup_expr="gte")
    date_to = UtcIsoDateTimeFilter(field_name="date_start", lookup_expr="lte")
    updated_since = UpdatedSinceFilter()
    has_spots = StrictBooleanFilter(
        method="filter_has_spots",
        help_text="true: bookable with a free seat (scheduled, not started, confirmed "
        "bookings under capacity); false: every other session (full, started or cancelled).",
    )
    when = django_filters.ChoiceFilter(
        choices=[("upcoming", "Upcoming"), ("past", "Past")], method="filter_when"
    )
    search = django_filters.CharFilter(method="filter_search", max_length=200)
    ordering = django_filters.OrderingFilter(
        fields=["date_start", "title", "credit_cost", "confirmed_count"]
    )

    class Meta:
        model = Session
        fields: list[str] = []

    def filter_has_spots(
        self, queryset: SessionQuerySet, name: str, value: bool | None
    ) -> SessionQuerySet:
        if value is None:
            return queryset
        return queryset.with_free_spots(value)

    def filter_when(self, queryset: SessionQuerySet, name: str, value: str) -> SessionQuerySet:
        now = timezone.now()
        if value == "upcoming":
            return queryset.filter(date_end__gte=now)
        if value == "past":
            return queryset.filter(date_end__lt=now).order_by("-date_start", "-id")
        return queryset

    def filter_search(self, queryset: SessionQuerySet, name: str, value: str) -> SessionQuerySet:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(title__icontains=value)
            | Q(description__icontains=value)
            | Q(location__icontains=value)
        )

    def filter_queryset(self, queryset: SessionQuerySet) -> SessionQuerySet:
        return in_stable_order(super().filter_queryset(queryset))


def in_stable_order(queryset: SessionQuerySet) -> SessionQuerySet:
    """The ordering asked for (by date by default), with the id as the last tiebreak,
    so that LIMIT/OFFSET pages never repeat or skip a row."""
    ordering = list(queryset.query.order_by) or ["date_start"]
    if "id" not in ordering and "-id" not in ordering:
        ordering.append("id")
    return queryset.order_by(*ordering)


# What the pages' filter forms call each filter (and so what their error summaries name);
# the API documents its parameters by name.
PAGE_LABELS = {
    "semester": "Semester",
    "session_type": "Type",
    "target_specialization": "Specialization",
    "date_from": "From",
    "date_to": "To",
    "has_spots": "Only with free seats",
    "when": "When",
    "search": "Search",
}


def local_day_bounds(data: dict[str, Any]) -> dict[str, Any]:
    """The pages' date inputs as the FilterSet takes them: `date_from` and `date_to` days
    become the first and last moment of those days in the viewer's zone. A value that is
    not a day is left as typed, so that the FilterSet refuses it, naming the field."""
    data = dict(data)
    zone = timezone.get_current_timezone()
    for name, bound in (("date_from", time.min), ("date_to", time.max)):
        if not data.get(name):
            continue
        try:
            day = date.fromisoformat(data[name])
        except ValueError:
            continue
        data[name] = datetime.combine(day, bound, zone).isoformat()
    return data


def page_filter_form(filterset: SessionFilter, *, auto_id: str = "id_%s") -> forms.Form:
    """The FilterSet's form as a page shows it: its fields named in words, and ids that
    match the page's inputs, so an error summary links to the field it names. Call it
    before the form is validated: a bound field keeps the label it was created with."""
    form = filterset.form
    form.auto_id = auto_id
    for name, label in PAGE_LABELS.items():
        if name in form.fields:
            form.fields[name].label = label
    return form


class SessionFilterBackend(DjangoFilterBackend):
    """DjangoFilterBackend that builds no filter form for a request that names no filter.

    The unfiltered list is what integrators page through; building and validating the
    form (a deep copy of every filter per request) cost more than the page's SQL.
    Without a filter parameter the FilterSet would only apply the stable order.
    """

    def filter_queryset(
        self, request: Request, queryset: SessionQuerySet, view: APIView
    ) -> SessionQuerySet:
        filterset_class = self.get_filterset_class(view, queryset)
        if not any(name in request.query_params for name in filterset_class.base_filters):
            return in_stable_order(queryset)
        return super().filter_queryset(request, queryset, view)


class GroupFilter(django_filters.FilterSet):
    semester = IdFilter(field_name="semester_id")

    class Meta:
        model = Group
        fields: list[str] = []
