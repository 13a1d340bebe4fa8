"""Reads shared by every list of sessions: statistics and visibility."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.apps import apps
from django.db import models
from django.db.models import Exists, F, FloatField, Func, IntegerField, OuterRef, Q, Subquery
from django.db.models.functions import Greatest
from django.utils import timezone

if TYPE_CHECKING:
    from accounts.models import User


def _per_session(
    model_label: str, aggregate: str, column: str = "pk", **conditions: Any
) -> Subquery:
    """A correlated subquery aggregating one related table for the outer session.

    One subquery per figure rather than JOIN + COUNT: joins of several
    one-to-many tables multiply each other's rows (fan-out), and a subquery is
    evaluated only for the rows that are actually selected (the page).
    """
    model = apps.get_model(model_label)
    output = FloatField() if aggregate == "AVG" else IntegerField()
    rows = (
        model.objects.filter(session_id=OuterRef("pk"), **conditions)
        .order_by()
        .annotate(value=Func(F(column), function=aggregate, output_field=output))
        .values("value")
    )
    return Subquery(rows, output_field=output)


class SessionQuerySet(models.QuerySet):
    def with_stats(self) -> SessionQuerySet:
        """Annotate every statistic of SPEC §2 in the same SQL statement as the rows."""
        live = ["confirmed", "waitlisted"]
        return self.annotate(
            booking_count=_per_session("bookings.Booking", "COUNT", status__in=live),
            confirmed_count=_per_session("bookings.Booking", "COUNT", status="confirmed"),
            waitlist_count=_per_session("bookings.Booking", "COUNT", status="waitlisted"),
            attendance_count=_per_session(
                "engagement.Attendance", "COUNT", status__in=["present", "late"]
            ),
            feedback_count=_per_session("engagement.Feedback", "COUNT"),
            average_rating=_per_session("engagement.Feedback", "AVG", column="rating"),
            project_count=_per_session("engagement.ProjectSession", "COUNT"),
        ).annotate(
            available_spots=Greatest(F("capacity") - F("confirmed_count"), 0),
        )

    def with_free_spots(self, has_spots: bool = True) -> SessionQuerySet:
        confirmed = _per_session("bookings.Booking", "COUNT", status="confirmed")
        condition = Q(capacity__gt=confirmed)
        return self.filter(condition if has_spots else ~condition)

    def managed_by(self, user: User) -> SessionQuerySet:
        """Sessions the user may edit: all for staff, their semesters' for a master instructor."""
        if user.is_staff:
            return self
        return self.filter(semester__master_instructor=user)

    def taught_or_managed_by(self, user: User) -> SessionQuerySet:
        if user.is_staff:
            return self
        return self.filter(Q(instructor=user) | Q(semester__master_instructor=user))

    def eligible_for(self, student: User) -> SessionQuerySet:
        return self.filter(eligibility_q(student))

    def visible_to(self, user: User) -> SessionQuerySet:
        """SPEC §4: staff and instructors see all; students their current catalogue and bookings."""
        if user.is_staff or user.role == "instructor":
            return self
        today = timezone.localdate()
        in_catalogue = Q(
            semester__is_active=True, semester__start_date__lte=today, semester__end_date__gte=today
        ) & eligibility_q(user)
        booking_model = apps.get_model("bookings", "Booking")
        booked = booking_model.objects.filter(session_id=OuterRef("pk"), student_id=user.pk)
        return self.filter(in_catalogue | Q(Exists(booked)))


def eligibility_q(student: User) -> Q:
    """SPEC §3 eligibility: no group or a member of it; no target, theirs, or mixed."""
    membership = apps.get_model("scheduling", "Group").members.through.objects.filter(
        group_id=OuterRef("group_id"), user_id=student.pk
    )
    # EXISTS rather than group__members: a join would duplicate session rows.
    group_ok = Q(group__isnull=True) | Q(Exists(membership))
    specialization_ok = Q(target_specialization__isnull=True) | Q(mixed_specialization=True)
    if student.specialization_id:
        specialization_ok |= Q(target_specialization_id=student.specialization_id)
    return group_ok & specialization_ok
