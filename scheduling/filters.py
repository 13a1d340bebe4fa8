"""The session filters, shared by the API list and the instructor pages."""

import django_filters
from django.db.models import Q
from django.utils import timezone

from .models import Session
from .querysets import SessionQuerySet


class SessionFilter(django_filters.FilterSet):
    # Plain id and code filters, not ModelChoiceFilters: those would spend a query
    # per request validating that the id exists; an unknown id simply matches nothing.
    semester = django_filters.NumberFilter(field_name="semester_id")
    instructor = django_filters.NumberFilter(field_name="instructor_id")
    group = django_filters.NumberFilter(field_name="group_id")
    target_specialization = django_filters.CharFilter(
        field_name="target_specialization__code", max_length=32
    )
    session_type = django_filters.ChoiceFilter(choices=Session.SessionType.choices)
    status = django_filters.ChoiceFilter(choices=Session.Status.choices)
    date_from = django_filters.IsoDateTimeFilter(field_name="date_start", lookup_expr="gte")
    date_to = django_filters.IsoDateTimeFilter(field_name="date_start", lookup_expr="lte")
    has_spots = django_filters.BooleanFilter(method="filter_has_spots")
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
        queryset = super().filter_queryset(queryset)
        # A stable tiebreak, so that LIMIT/OFFSET pages never repeat or skip a row.
        ordering = list(queryset.query.order_by) or ["date_start"]
        if "id" not in ordering and "-id" not in ordering:
            ordering.append("id")
        return queryset.order_by(*ordering)
