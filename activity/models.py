"""The activity log: one append-only row per change a service made, who made it, and what moved.

The app sits at the bottom of the domain: it knows users and nothing of sessions or
bookings, so the session it concerns is a plain indexed id (it outlives a deleted
session), and the target is named by its model label ("bookings.booking") and id.
A label, not a ContentType: resolving a ContentType costs a query whenever its
per-process cache is cold, and every write service may cost exactly one statement more.
"""

from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models


class AppendOnly(Exception):
    """An activity row was about to be changed or deleted."""


class ActivityQuerySet(models.QuerySet["Activity"]):
    def newest_first(self) -> "ActivityQuerySet":
        return self.order_by("-created_at", "-id")

    def for_session(self, session_id: int) -> "ActivityQuerySet":
        return self.filter(session_id=session_id)


class Activity(models.Model):
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="Who acted; empty when the system did.",
    )
    # No choices: a new verb needs no migration; record() refuses names not in verbs.py.
    verb = models.CharField(max_length=64)
    target_type = models.CharField(
        max_length=100, help_text='Model label, e.g. "bookings.booking".'
    )
    target_id = models.BigIntegerField()
    # No foreign key: a history survives the session's deletion.
    session_id = models.BigIntegerField(null=True, blank=True)
    student = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    data = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ActivityQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "activities"
        ordering = ["-created_at", "-id"]
        indexes = [
            # GET /api/v1/activity/ and the admin changelist: ORDER BY created_at DESC, id DESC.
            models.Index(fields=["-created_at", "-id"], name="activity_created_idx"),
            # A session's history (API, instructor page, admin link): WHERE session_id = ?.
            models.Index(fields=["session_id", "-created_at", "-id"], name="activity_session_idx"),
            # ?student= and a user's history link: WHERE student_id = ?.
            models.Index(fields=["student", "-created_at", "-id"], name="activity_student_idx"),
            # ?actor=: WHERE actor_id = ?.
            models.Index(fields=["actor", "-created_at", "-id"], name="activity_actor_idx"),
            # ?verb=: WHERE verb = ?.
            models.Index(fields=["verb", "-created_at", "-id"], name="activity_verb_idx"),
            # A booking's history link: WHERE target_type = ? AND target_id = ?.
            models.Index(fields=["target_type", "target_id"], name="activity_target_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.verb} {self.target_type}#{self.target_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnly("Activity rows are never changed.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise AppendOnly("Activity rows are never deleted.")

    @property
    def target_model(self) -> type[models.Model]:
        return apps.get_model(self.target_type)


def target_of(instance: models.Model) -> tuple[str, int]:
    """The (type, id) pair naming a model instance as an activity's target."""
    return instance._meta.label_lower, instance.pk
