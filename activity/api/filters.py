"""Filters of the activity list: an invalid value is a 400 naming the parameter."""

from typing import Any

import django_filters
from django import forms

from activity.models import Activity
from activity.verbs import ALL_VERBS
from config.filters import UpdatedSinceFilter, UtcIsoDateTimeFilter


class IdFilter(django_filters.NumberFilter):
    """A positive 64-bit id: "x", "1.5" or an overflow is a 400, not a miss or a crash."""

    field_class = forms.IntegerField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", 2**63 - 1)
        super().__init__(*args, **kwargs)


class ActivityFilter(django_filters.FilterSet):
    verb = django_filters.ChoiceFilter(choices=[(verb, verb) for verb in ALL_VERBS])
    actor = IdFilter(field_name="actor_id")
    session = IdFilter(field_name="session_id")
    student = IdFilter(field_name="student_id")
    since = UtcIsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    # Activities are never changed: "updated since" is "recorded since", named as on every list.
    updated_since = UpdatedSinceFilter(field_name="created_at")

    class Meta:
        model = Activity
        fields: list[str] = []
