"""Filters of the activity list. The id and datetime filters mirror the ones the domain apps
use (an invalid value is a 400 naming the parameter), kept here because activity sits below them."""

from datetime import UTC, datetime
from typing import Any

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django_filters.fields import IsoDateTimeField
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from activity.models import Activity
from activity.verbs import ALL_VERBS


class IdFilter(django_filters.NumberFilter):
    """A positive 64-bit id: "x", "1.5" or an overflow is a 400, not a miss or a crash."""

    field_class = forms.IntegerField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", 2**63 - 1)
        super().__init__(*args, **kwargs)


class UtcIsoDateTimeField(IsoDateTimeField):
    """ISO 8601 in UTC: PostgreSQL refuses offsets beyond ±15:59, Python takes ±23:59."""

    def to_python(self, value: Any) -> datetime | None:
        parsed = super().to_python(value)
        if parsed is None or timezone.is_naive(parsed):
            return parsed
        try:
            return parsed.astimezone(UTC)
        except OverflowError as error:
            raise ValidationError(self.error_messages["invalid"], code="invalid") from error


@extend_schema_field(OpenApiTypes.DATETIME)
class SinceFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcIsoDateTimeField


class ActivityFilter(django_filters.FilterSet):
    verb = django_filters.ChoiceFilter(choices=[(verb, verb) for verb in ALL_VERBS])
    actor = IdFilter(field_name="actor_id")
    session = IdFilter(field_name="session_id")
    student = IdFilter(field_name="student_id")
    since = SinceFilter(field_name="created_at", lookup_expr="gte")

    class Meta:
        model = Activity
        fields: list[str] = []
