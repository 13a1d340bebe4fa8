"""Filter fields every app's API filter sets share."""

from datetime import UTC, datetime
from typing import Any

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django_filters.fields import IsoDateTimeField
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field


@extend_schema_field({"type": "integer", "minimum": 1, "maximum": 2**63 - 1})
class IdFilter(django_filters.NumberFilter):
    """An integer id: "1.5", "x" or a number beyond a 64-bit key is an invalid value
    (400 in the API), not a match and not a database overflow."""

    field_class = forms.IntegerField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", 2**63 - 1)
        super().__init__(*args, **kwargs)


class UtcIsoDateTimeField(IsoDateTimeField):
    """An ISO 8601 datetime turned into UTC. Python accepts UTC offsets up to ±23:59,
    PostgreSQL only up to ±15:59 (a 500 otherwise); and near year 1 or 9999 the
    offset can push the instant outside what a datetime holds: invalid (400)."""

    def to_python(self, value: Any) -> datetime | None:
        parsed = super().to_python(value)
        if parsed is None or timezone.is_naive(parsed):
            return parsed
        try:
            return parsed.astimezone(UTC)
        except OverflowError as error:
            raise ValidationError(self.error_messages["invalid"], code="invalid") from error


@extend_schema_field(OpenApiTypes.DATETIME)
class UtcIsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcIsoDateTimeField


class UpdatedSinceFilter(UtcIsoDateTimeFilter):
    """`updated_since`: the rows whose `updated_at` is at or after the instant (inclusive, so
    a row written in the same microsecond as the last one a client saw is not missed)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("field_name", "updated_at")
        kwargs.setdefault("lookup_expr", "gte")
        kwargs.setdefault(
            "help_text",
            "ISO 8601 instant: only rows changed at or after it (inclusive). "
            "For incremental sync (README, Sync recipe).",
        )
        super().__init__(*args, **kwargs)
