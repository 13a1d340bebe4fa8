"""Serializer fields the API shares."""

from typing import Any

from django.db import models
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from rest_framework import serializers


class BoundedManyRelatedField(serializers.ManyRelatedField):
    """A list of related ids with at most `max_length` items, counted before any is
    looked up: DRF's own list resolves every id with a query first, so 10,000 ids
    would cost 10,000 queries before any length check could refuse them."""

    default_error_messages = {
        "max_length": "Send at most {max_length} ids.",
    }

    def __init__(self, *, max_length: int, **kwargs: Any) -> None:
        self.max_length = max_length
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> list[Any]:
        # A JSON array only: DRF's would iterate an object's keys ({} reads as []).
        if not isinstance(data, list):
            self.fail("not_a_list", input_type=type(data).__name__)
        if len(data) > self.max_length:
            self.fail("max_length", max_length=self.max_length)
        return super().to_internal_value(data)


def bounded_ids(queryset: Any, *, max_length: int, **kwargs: Any) -> BoundedManyRelatedField:
    """`PrimaryKeyRelatedField(many=True)` with a cap on the number of ids."""
    return BoundedManyRelatedField(
        child_relation=StrictPrimaryKeyRelatedField(queryset=queryset),
        max_length=max_length,
        **kwargs,
    )


class BoundedManyRelatedFieldExtension(OpenApiSerializerFieldExtension):
    """Documents the cap as `maxItems`, so that clients and the fuzzer know it."""

    target_class = BoundedManyRelatedField

    def map_serializer_field(self, auto_schema: Any, direction: str) -> dict[str, Any]:
        items = auto_schema._map_serializer_field(self.target.child_relation, direction)
        return {"type": "array", "items": items, "maxItems": self.target.max_length}


class StrictCharField(serializers.CharField):
    """Text only: DRF's CharField would take `0` or `1.5` and store "0" or "1.5"."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer only: DRF's would take "5", 5.0 or "5.0"."""

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    """true or false only: DRF's would take 0, 1, "yes", "off"..."""

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


class StrictPrimaryKeyRelatedField(serializers.PrimaryKeyRelatedField):
    """An id that is a JSON integer: DRF's would take "5", and 1.5 as 1 (Django's int())."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("pk_field", StrictIntegerField())
        super().__init__(**kwargs)


class StrictModelSerializer(serializers.ModelSerializer):
    """A ModelSerializer whose generated input fields take only their JSON type."""

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.CharField: StrictCharField,
        models.TextField: StrictCharField,
        models.BooleanField: StrictBooleanField,
        models.IntegerField: StrictIntegerField,
        models.PositiveIntegerField: StrictIntegerField,
        models.PositiveSmallIntegerField: StrictIntegerField,
        models.SmallIntegerField: StrictIntegerField,
        models.BigIntegerField: StrictIntegerField,
    }
    serializer_related_field = StrictPrimaryKeyRelatedField
