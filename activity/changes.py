"""What an update changed, as `{field: [old, new]}` for an activity's `data.changes`."""

from typing import Any

from django.db import models


class LoadedValues:
    """Model mixin: remember the column values read from the database (Django's documented
    `from_db` recipe), so a service can name what changed even after a form has already
    written the new values onto the instance, as the admin's forms do."""

    _loaded_values: dict[str, Any]

    @classmethod
    def from_db(cls, db: str, field_names: Any, values: Any) -> Any:
        instance = super().from_db(db, field_names, values)  # type: ignore[misc]
        instance._loaded_values = dict(zip(field_names, values, strict=True))
        return instance


def column_values(instance: models.Model, names: Any) -> dict[str, Any]:
    """The values of fields `names`, foreign keys as their ids (what JSON can hold)."""
    values = {}
    for name in names:
        field = instance._meta.get_field(name)
        values[name] = getattr(instance, field.attname)
    return values


def loaded_values(instance: models.Model, names: Any) -> dict[str, Any]:
    """The values as read from the database (LoadedValues), else the instance's current ones."""
    loaded = getattr(instance, "_loaded_values", None)
    current = column_values(instance, names)
    if loaded is None:
        return current
    return {
        name: loaded.get(instance._meta.get_field(name).attname, current[name]) for name in names
    }


def diff(old: dict[str, Any], new: dict[str, Any]) -> dict[str, list[Any]]:
    """Only the fields whose value differs, each as [old, new]."""
    return {name: [old.get(name), value] for name, value in new.items() if old.get(name) != value}
