"""Filter fields every app's API filter sets share."""

from typing import Any

import django_filters
from django import forms
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
