"""The semester dashboard's figures: aggregate queries only, a fixed number of them.

These reads span scheduling (capacity), bookings (seats, waitlists, the credit
ledger) and engagement (marks, ratings), and no domain app owns "a semester at a
glance", so they live here in the reports surface rather than in one app's
selectors. The attendance register, which is attendance's own record, lives in
engagement.register.

Every figure is a GROUP BY in the database; Python only joins the few grouped rows
(weeks, types, hours), never loops over sessions or bookings. Seven queries
whatever the size of the semester.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.db.models import Avg, Count, Exists, F, Min, OuterRef, Q, Sum
from django.db.models.functions import ExtractHour, TruncDate, TruncWeek
from django.utils import timezone

from bookings.models import Booking, CreditTransaction
from engagement.models import Attendance, Feedback
from scheduling.models import Semester, Session

# How many sessions the waitlist and rating tables list.
TOP = 10


@dataclass
class FillRow:
    label: str
    sessions: int
    capacity: int
    confirmed: int

    @property
    def rate(self) -> float:
        return round(self.confirmed / self.capacity, 4) if self.capacity else 0.0


@dataclass
class Dashboard:
    semester: Semester
    fill_by_week: list[FillRow]
    fill_by_type: list[FillRow]
    waitlists: list[dict[str, Any]]
    no_show: dict[str, Any]
    lowest_rated: list[dict[str, Any]]
    highest_rated: list[dict[str, Any]]
    ratings_by_instructor: list[dict[str, Any]]
    credits_by_week: list[dict[str, Any]]
    busiest_hours: list[dict[str, Any]]


def _week(value: datetime | date) -> date:
    return value.date() if isinstance(value, datetime) else value


def semester_dashboard(semester: Semester, *, now: datetime | None = None) -> Dashboard:
    now = now or timezone.now()
    held = Session.objects.filter(semester=semester, status=Session.Status.SCHEDULED)
    confirmed = Booking.objects.filter(
        session__semester=semester,
        session__status=Session.Status.SCHEDULED,
        status=Booking.Status.CONFIRMED,
    ).order_by()

    # 1-2: the sessions, and one pass over their confirmed seats, both grouped by
    # (week, type, starting hour): the fill rates, the busiest hours and the no-shows all
    # fold from these few grouped rows (one scan of the bookings, not three).
    capacity_rows = (
        held.order_by()
        .annotate(week=TruncWeek("date_start"), hour=ExtractHour("date_start"))
        .values("week", "session_type", "hour")
        .annotate(sessions=Count("pk"), capacity=Sum("capacity"))
    )
    # No-shows: confirmed seats of started sessions without a present or late mark.
    attended = Exists(
        Attendance.objects.filter(
            session_id=OuterRef("session_id"),
            student_id=OuterRef("student_id"),
            status__in=[Attendance.Status.PRESENT, Attendance.Status.LATE],
        )
    )
    started = Q(session__date_start__lte=now)
    seat_rows = (
        confirmed.annotate(
            week=TruncWeek("session__date_start"),
            hour=ExtractHour("session__date_start"),
            attended=attended,
        )
        .values("week", "hour", session_type=F("session__session_type"))
        .annotate(
            seats=Count("pk"),
            started_seats=Count("pk", filter=started),
            no_shows=Count("pk", filter=started & Q(attended=False)),
        )
    )
    by_week: dict[date, FillRow] = {}
    by_type: dict[str, FillRow] = {}
    by_hour: dict[int, dict[str, int]] = {}
    labels = dict(Session.SessionType.choices)
    for row in capacity_rows:
        week = _week(row["week"])
        for table, key, label in (
            (by_week, week, week.isoformat()),
            (by_type, row["session_type"], labels[row["session_type"]]),
        ):
            fill = table.setdefault(key, FillRow(label, 0, 0, 0))
            fill.sessions += row["sessions"]
            fill.capacity += row["capacity"]
        hour = by_hour.setdefault(row["hour"], {"hour": row["hour"], "sessions": 0, "seats": 0})
        hour["sessions"] += row["sessions"]
    no_show = {"seats": 0, "no_shows": 0}
    for row in seat_rows:
        week = _week(row["week"])
        by_week.setdefault(week, FillRow(week.isoformat(), 0, 0, 0)).confirmed += row["seats"]
        by_type.setdefault(
            row["session_type"], FillRow(labels[row["session_type"]], 0, 0, 0)
        ).confirmed += row["seats"]
        by_hour[row["hour"]]["seats"] += row["seats"]
        no_show["seats"] += row["started_seats"]
        no_show["no_shows"] += row["no_shows"]
    no_show["rate"] = round(no_show["no_shows"] / no_show["seats"], 4) if no_show["seats"] else None

    # 3: the demand signal: sessions with people still waiting, longest first.
    waitlists = list(
        Booking.objects.filter(
            session__semester=semester,
            session__status=Session.Status.SCHEDULED,
            status=Booking.Status.WAITLISTED,
        )
        .order_by()
        .values("session_id", title=F("session__title"), date_start=F("session__date_start"))
        .annotate(waiting=Count("pk"), since=Min("created_at"))
        .order_by("-waiting", "date_start", "session_id")[:TOP]
    )

    # 4-6: ratings by session (lowest and highest) and by instructor.
    feedback = Feedback.objects.filter(
        session__semester=semester, session__status=Session.Status.SCHEDULED
    ).order_by()
    by_session = feedback.values(
        "session_id", title=F("session__title"), date_start=F("session__date_start")
    ).annotate(average=Avg("rating"), count=Count("pk"))
    lowest = list(by_session.order_by("average", "-count", "session_id")[:TOP])
    highest = list(by_session.order_by("-average", "-count", "session_id")[:TOP])
    by_instructor = list(
        feedback.values(
            "session__instructor_id",
            username=F("session__instructor__username"),
            first_name=F("session__instructor__first_name"),
            last_name=F("session__instructor__last_name"),
        )
        .annotate(
            average=Avg("rating"), count=Count("pk"), sessions=Count("session", distinct=True)
        )
        .order_by("-average", "username")
    )
    for row in (*lowest, *highest, *by_instructor):
        row["average"] = round(float(row["average"]), 2)
    for row in by_instructor:
        row["name"] = f"{row.pop('first_name')} {row.pop('last_name')}".strip() or row["username"]

    # 7: credits by week: charges and refunds of this semester's bookings, and the
    # grants made while it ran (grants belong to no semester).
    ledger = (
        CreditTransaction.objects.filter(
            Q(booking__session__semester=semester)
            | Q(
                kind=CreditTransaction.Kind.GRANT,
                booking__isnull=True,
                created_at__date__gte=semester.start_date,
                created_at__date__lte=semester.end_date,
            )
        )
        .order_by()
        .annotate(week=TruncWeek(TruncDate("created_at")))
        .values("week", "kind")
        .annotate(total=Sum("amount"))
    )
    credits: dict[date, dict[str, Any]] = {}
    for row in ledger:
        week = _week(row["week"])
        entry = credits.setdefault(
            week, {"week": week, "charged": 0, "refunded": 0, "granted": 0, "adjusted": 0}
        )
        key = {
            CreditTransaction.Kind.BOOKING: "charged",
            CreditTransaction.Kind.REFUND: "refunded",
            CreditTransaction.Kind.GRANT: "granted",
        }.get(row["kind"], "adjusted")
        # Charges are negative in the ledger; the dashboard shows amounts moved.
        entry[key] += abs(row["total"]) if key == "charged" else row["total"]

    return Dashboard(
        semester=semester,
        fill_by_week=[by_week[key] for key in sorted(by_week)],
        fill_by_type=[by_type[key] for key in sorted(by_type)],
        waitlists=waitlists,
        no_show=no_show,
        lowest_rated=lowest,
        highest_rated=highest,
        ratings_by_instructor=by_instructor,
        credits_by_week=[credits[key] for key in sorted(credits)],
        busiest_hours=[by_hour[key] for key in sorted(by_hour)],
    )
