"""Reads shared by every list of sessions: statistics and visibility."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.apps import apps
from django.db import models
from django.db.models import (
    CharField,
    Exists,
    F,
    FloatField,
    Func,
    IntegerField,
    OuterRef,
    Q,
    Value,
)
from django.db.models.functions import Greatest
from django.utils import timezone

from accounts.models import DISPLAY_NAME_SQL

if TYPE_CHECKING:
    from accounts.models import User


# The figures with_stats() annotates, in the order every surface shows them.
SESSION_STATISTICS = (
    "booking_count",
    "confirmed_count",
    "waitlist_count",
    "available_spots",
    "attendance_count",
    "feedback_count",
    "average_rating",
    "project_count",
)


class PerSessionAggregate(Func):
    """`(SELECT <aggregate> FROM <table> WHERE session_id = <outer id> [AND status IN ...])`.

    One correlated subquery per figure rather than JOIN + COUNT: joins of several
    one-to-many tables multiply each other's rows (fan-out), and a subquery is
    evaluated only for the rows actually selected (the page). Written as one SQL
    template instead of a Subquery(QuerySet): the same statement, but compiling
    eight nested QuerySets cost more per request than running them.
    The outer id is an F("pk"), so Django aliases it correctly in any context
    (the page query, the ids-only subquery, an ORDER BY).
    """

    template = (
        "(SELECT %(aggregate)s FROM %(table)s AS stat"
        " WHERE stat.session_id = %(expressions)s%(condition)s)"
    )

    def __init__(
        self,
        model_label: str,
        *,
        aggregate: str = "COUNT(*)",
        statuses: tuple[str, ...] = (),
        output_field: models.Field | None = None,
    ) -> None:
        table = apps.get_model(model_label)._meta.db_table
        # Statuses are TextChoices values from the code, never client input; the
        # check keeps it that way.
        if not all(status.isidentifier() for status in statuses):
            raise ValueError(f"Not a status value: {statuses!r}")
        condition = ""
        if statuses:
            condition = " AND stat.status IN ({})".format(", ".join(f"'{s}'" for s in statuses))
        super().__init__(
            F("pk"),
            table=table,
            aggregate=aggregate,
            condition=condition,
            output_field=output_field or IntegerField(),
        )

    def as_sql(self, compiler: Any, connection: Any, **extra_context: Any) -> tuple[str, list]:
        table = connection.ops.quote_name(self.extra["table"])
        return super().as_sql(compiler, connection, table=table, **extra_context)

    def get_db_converters(self, connection: Any) -> list:
        # COUNT(*) and the CAST to DOUBLE PRECISION come back as int and float from both
        # PostgreSQL and SQLite, so Django's int()/float() of every value is left out:
        # seven figures on each of up to 500 rows a page.
        return self.output_field.get_db_converters(connection)


class RelatedColumn(Func):
    """`(SELECT <column expression> FROM <table> AS related WHERE id = <session's fk>)`."""

    template = "(SELECT %(column)s FROM %(table)s AS related WHERE related.id = %(expressions)s)"

    def __init__(
        self, model_label: str, foreign_key: str, column: str, output_field: models.Field
    ) -> None:
        table = apps.get_model(model_label)._meta.db_table
        super().__init__(F(foreign_key), table=table, column=column, output_field=output_field)

    def as_sql(self, compiler: Any, connection: Any, **extra_context: Any) -> tuple[str, list]:
        table = connection.ops.quote_name(self.extra["table"])
        return super().as_sql(compiler, connection, table=table, **extra_context)


def _confirmed_count() -> PerSessionAggregate:
    return PerSessionAggregate("bookings.Booking", statuses=("confirmed",))


class SessionQuerySet(models.QuerySet):
    def with_stats(self) -> SessionQuerySet:
        """Annotate every statistic of SPEC §2 in the same SQL statement as the rows."""
        return self.annotate(
            booking_count=PerSessionAggregate(
                "bookings.Booking", statuses=("confirmed", "waitlisted")
            ),
            confirmed_count=_confirmed_count(),
            waitlist_count=PerSessionAggregate("bookings.Booking", statuses=("waitlisted",)),
            attendance_count=PerSessionAggregate(
                "engagement.Attendance", statuses=("present", "late")
            ),
            feedback_count=PerSessionAggregate("engagement.Feedback"),
            average_rating=PerSessionAggregate(
                "engagement.Feedback",
                aggregate="CAST(AVG(stat.rating) AS DOUBLE PRECISION)",
                output_field=FloatField(),
            ),
            project_count=PerSessionAggregate("engagement.ProjectSession"),
        ).annotate(
            available_spots=Greatest(F("capacity") - F("confirmed_count"), 0),
        )

    def with_display_columns(self) -> SessionQuerySet:
        """Annotate what a session's representation shows of its related rows.

        Scalar subqueries by primary key rather than select_related() or F()
        joins: a 500-row page builds 500 objects instead of 2,000, and the
        ids-only query that picks the page carries no join at all.
        `instructor_name` is `User.display_name`, in SQL.
        """
        return self.annotate(
            instructor_name=RelatedColumn(
                "accounts.User",
                "instructor_id",
                DISPLAY_NAME_SQL.format(table="related"),
                CharField(),
            ),
            target_specialization_code=RelatedColumn(
                "scheduling.Specialization", "target_specialization_id", "related.code", CharField()
            ),
            semester_master_instructor_id=RelatedColumn(
                "scheduling.Semester",
                "semester_id",
                "related.master_instructor_id",
                IntegerField(),
            ),
        )

    def as_rows(self) -> models.QuerySet:
        """The sessions as named tuples of their columns and annotations, for lists that
        only read them.

        A serializer reads a row's attributes; a named tuple has the same ones as the
        Session would, for a fraction of the cost of building the model instance (about
        a quarter of a 500-row page's time in Python).
        """
        columns = [field.attname for field in self.model._meta.concrete_fields]
        return self.values_list(*columns, *self.query.annotations, named=True)

    def with_free_spots(self, has_spots: bool = True) -> SessionQuerySet:
        """`has_spots`: bookable now with a seat free: scheduled, not started, and
        fewer confirmed bookings than its capacity. False keeps every other session
        (full, started or cancelled): a free seat nobody may book is no spot."""
        condition = Q(
            status="scheduled", date_start__gt=timezone.now(), capacity__gt=_confirmed_count()
        )
        return self.filter(condition if has_spots else ~condition)

    def taught_or_managed_by(self, user: User) -> SessionQuerySet:
        """The list form of `scheduling.access.teaches_or_manages`."""
        if user.is_staff:
            return self
        return self.filter(taught_or_managed_q(user))

    def eligible_for(self, student: User) -> SessionQuerySet:
        return self.filter(eligibility_q(student))

    def with_viewer_booking(self, user: User) -> SessionQuerySet:
        """Annotate `viewer_has_confirmed_booking` with an EXISTS in the same statement.

        `can_see_meeting_link()` reads it; only students book, so staff and
        instructors get a constant instead of a subquery per row.
        """
        if user.is_staff or user.role == "instructor":
            return self.annotate(viewer_has_confirmed_booking=Value(False))
        booking_model = apps.get_model("bookings", "Booking")
        confirmed = booking_model.objects.filter(
            session_id=OuterRef("pk"), student_id=user.pk, status="confirmed"
        )
        return self.annotate(viewer_has_confirmed_booking=Exists(confirmed))

    def visible_to(self, user: User) -> SessionQuerySet:
        """SPEC §4: staff and instructors see all; students their current catalogue and bookings."""
        if user.is_staff or user.role == "instructor":
            return self
        # The academy's today (settings.TIME_ZONE), not the viewer's page zone.
        today = timezone.localdate(timezone=timezone.get_default_timezone())
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


def taught_or_managed_q(user: User, prefix: str = "") -> Q:
    """Sessions the user teaches or whose semester they master; `prefix` reaches a
    session from another model (`"session__"` from a booking). Staff need no filter."""
    return Q(**{f"{prefix}instructor": user}) | Q(**{f"{prefix}semester__master_instructor": user})
