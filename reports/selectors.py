"""The semester dashboard's figures: aggregate queries only, a fixed number of them.

These reads span scheduling (capacity), bookings (seats, waitlists, the credit
ledger) and engagement (marks, ratings), and no domain app owns "a semester at a
glance", so they live here in the reports surface rather than in one app's
selectors. The attendance register, which is attendance's own record, lives in
engagement.register.

Every figure comes from a GROUP BY in the database, at most one row per session: no
booking, mark or rating row reaches Python. Each booking and rating is read once,
grouped by session id alone; a session's week, type and starting hour are worked out
once per session, not once per booking. Python rolls the per-session rows up by week,
type, hour and instructor and picks the lowest and highest rated sessions and the
longest waitlists. Six queries whatever the size of the semester: the seats and
waitlists per session, the ratings per session, the held sessions, the attended
seats, the instructors and the credit ledger by week (README, "Reports").
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple

from django.db.models import Count, DateField, Exists, Min, OuterRef, Q, QuerySet, Sum
from django.db.models.functions import ExtractHour, TruncDate, TruncWeek
from django.utils import timezone

from accounts.models import User
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


def _as_date(value: datetime | date) -> date:
    return value.date() if isinstance(value, datetime) else value


class SeatCounts(NamedTuple):
    """One held session's bookings, counted in the database."""

    confirmed: int
    waiting: int
    waiting_since: datetime | None


NO_SEATS = SeatCounts(0, 0, None)


def _seats_by_session(held_ids: QuerySet) -> dict[int, SeatCounts]:
    """The confirmed and waitlisted seats of each held session: one pass over the
    semester's live bookings, grouped by session only. The week, type and hour of a
    session are worked out once per session (query 1), not once per booking."""
    confirmed = Q(status=Booking.Status.CONFIRMED)
    waitlisted = Q(status=Booking.Status.WAITLISTED)
    rows = (
        Booking.objects.filter(
            session_id__in=held_ids,
            status__in=[Booking.Status.CONFIRMED, Booking.Status.WAITLISTED],
        )
        .order_by()
        .values("session_id")
        .annotate(
            confirmed=Count("pk", filter=confirmed),
            waiting=Count("pk", filter=waitlisted),
            since=Min("created_at", filter=waitlisted),
        )
        .values_list("session_id", "confirmed", "waiting", "since")
    )
    return {session_id: SeatCounts(*counts) for session_id, *counts in rows}


def _attended_seats(started_ids: QuerySet) -> int:
    """Confirmed seats of the started sessions with a present or late mark: one number.
    The mark check is a semi-join in the WHERE clause (PostgreSQL hashes the marks once),
    not a FILTER per booking, and it reads only the started sessions' bookings."""
    attended = Exists(
        Attendance.objects.filter(
            session_id=OuterRef("session_id"),
            student_id=OuterRef("student_id"),
            status__in=[Attendance.Status.PRESENT, Attendance.Status.LATE],
        )
    )
    return Booking.objects.filter(
        attended, session_id__in=started_ids, status=Booking.Status.CONFIRMED
    ).count()


def _ratings_by_session(held_ids: QuerySet) -> dict[int, tuple[int, int]]:
    """(sum of ratings, number of ratings) of each held session with feedback. Sums, not
    averages, so that an instructor's average is exact when rolled up from them."""
    rows = (
        Feedback.objects.filter(session_id__in=held_ids)
        .order_by()
        .values("session_id")
        .annotate(total=Sum("rating"), count=Count("pk"))
        .values_list("session_id", "total", "count")
    )
    return {session_id: (total, count) for session_id, total, count in rows}


def _rated_row(total: int, count: int, pk: int, title: str, start: datetime) -> dict[str, Any]:
    return {
        "session_id": pk,
        "title": title,
        "date_start": start,
        "average": round(total / count, 2),
        "count": count,
    }


def semester_dashboard(semester: Semester, *, now: datetime | None = None) -> Dashboard:
    now = now or timezone.now()
    held = Session.objects.filter(semester=semester, status=Session.Status.SCHEDULED).order_by()
    held_ids = held.values("pk")

    # 1-2: the bookings and the ratings, aggregated per session.
    seats_by_session = _seats_by_session(held_ids)
    ratings_by_session = _ratings_by_session(held_ids)
    # 3: the held sessions, one row each, with their week (a date: the database
    # truncates it in the current time zone, and a date needs no conversion per row),
    # starting hour and instructor.
    sessions = held.annotate(
        week=TruncWeek("date_start", output_field=DateField()),
        hour=ExtractHour("date_start"),
    ).values_list(
        "pk", "week", "session_type", "hour", "capacity", "date_start", "title", "instructor_id"
    )

    # One pass over the per-session rows: [sessions, capacity, confirmed seats] by
    # (week, type, hour), the started sessions' seats, the waitlisted and the rated
    # sessions, and the ratings summed by instructor.
    groups: dict[tuple[date, str, int], list[int]] = {}
    started_seats = 0
    waitlists: list[tuple[int, datetime, int, str, datetime | None]] = []
    rated: list[tuple[int, int, int, str, datetime]] = []
    ratings_by_instructor: dict[int, list[int]] = {}
    for pk, week, session_type, hour, capacity, date_start, title, instructor_id in sessions:
        confirmed, waiting, since = seats_by_session.get(pk, NO_SEATS)
        group = groups.get((week, session_type, hour))
        if group is None:
            group = groups[week, session_type, hour] = [0, 0, 0]
        group[0] += 1
        group[1] += capacity
        group[2] += confirmed
        if date_start <= now:
            started_seats += confirmed
        if waiting:
            waitlists.append((waiting, date_start, pk, title, since))
        rating = ratings_by_session.get(pk)
        if rating is None:
            continue
        total, count = rating
        rated.append((total, count, pk, title, date_start))
        # [sum of ratings, ratings, rated sessions]
        instructor = ratings_by_instructor.get(instructor_id)
        if instructor is None:
            instructor = ratings_by_instructor[instructor_id] = [0, 0, 0]
        instructor[0] += total
        instructor[1] += count
        instructor[2] += 1

    # The fill rates and the busiest hours, folded from the few (week, type, hour) groups.
    by_week: dict[date, FillRow] = {}
    by_type: dict[str, FillRow] = {}
    by_hour: dict[int, dict[str, int]] = {}
    labels = dict(Session.SessionType.choices)
    for (week, session_type, hour), (count, capacity, confirmed) in groups.items():
        for table, key, label in (
            (by_week, week, week.isoformat()),
            (by_type, session_type, labels[session_type]),
        ):
            fill = table.setdefault(key, FillRow(label, 0, 0, 0))
            fill.sessions += count
            fill.capacity += capacity
            fill.confirmed += confirmed
        hours = by_hour.setdefault(hour, {"hour": hour, "sessions": 0, "seats": 0})
        hours["sessions"] += count
        hours["seats"] += confirmed

    # 4: no-shows: confirmed seats of started sessions without a present or late mark.
    no_shows = started_seats - _attended_seats(held.filter(date_start__lte=now).values("pk"))
    no_show = {
        "seats": started_seats,
        "no_shows": no_shows,
        "rate": round(no_shows / started_seats, 4) if started_seats else None,
    }

    # The demand signal: sessions with people still waiting, longest first.
    longest_waitlists = [
        {"session_id": pk, "title": title, "date_start": start, "waiting": waiting, "since": since}
        for waiting, start, pk, title, since in heapq.nsmallest(
            TOP, waitlists, key=lambda row: (-row[0], row[1], row[2])
        )
    ]

    # Ratings are ranked by the exact average, total / count: equal fractions divide to
    # the same float and unequal ones (under ten million ratings) to different floats, so
    # the order is the one AVG() gives in the database.
    lowest = heapq.nsmallest(TOP, rated, key=lambda row: (row[0] / row[1], -row[1], row[2]))
    highest = heapq.nsmallest(TOP, rated, key=lambda row: (-row[0] / row[1], -row[1], row[2]))

    # 5: the semester's instructors (a handful of rows), by username: instructors tied on
    # their average keep the database's collation order (the sort below is stable).
    by_instructor = []
    for instructor_id, username, first_name, last_name in (
        User.objects.filter(pk__in=held.values("instructor_id"))
        .order_by("username")
        .values_list("pk", "username", "first_name", "last_name")
    ):
        if instructor_id not in ratings_by_instructor:
            continue
        total, count, rated_sessions = ratings_by_instructor[instructor_id]
        by_instructor.append(
            {
                "session__instructor_id": instructor_id,
                "username": username,
                "name": f"{first_name} {last_name}".strip() or username,
                "average": total / count,
                "count": count,
                "sessions": rated_sessions,
            }
        )
    by_instructor.sort(key=lambda row: -row["average"])
    for row in by_instructor:
        row["average"] = round(row["average"], 2)

    # 6: credits by week: charges and refunds of this semester's bookings, and the
    # grants made while it ran (grants belong to no semester). Two aggregates in one
    # UNION ALL, not an OR across a join: the first reads the ledger rows of the
    # semester's bookings (a semi-join), the second the grants without a booking in the
    # semester's dates; the two are disjoint (a booking or none). Grouped by local day in
    # SQL and rolled up into weeks here: a few hundred rows at most, and no week
    # truncation per ledger row.
    def by_day(rows: QuerySet) -> QuerySet:
        return (
            rows.order_by()
            .annotate(day=TruncDate("created_at"))
            .values("day", "kind")
            .annotate(total=Sum("amount"))
        )

    ledger = by_day(
        CreditTransaction.objects.filter(
            booking_id__in=Booking.objects.filter(session__semester=semester).values("pk")
        )
    ).union(
        by_day(
            CreditTransaction.objects.filter(
                kind=CreditTransaction.Kind.GRANT,
                booking__isnull=True,
                created_at__date__gte=semester.start_date,
                created_at__date__lte=semester.end_date,
            )
        ),
        all=True,
    )
    credits: dict[date, dict[str, Any]] = {}
    for row in ledger:
        day = _as_date(row["day"])
        week = day - timedelta(days=day.weekday())
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
        waitlists=longest_waitlists,
        no_show=no_show,
        lowest_rated=[_rated_row(*row) for row in lowest],
        highest_rated=[_rated_row(*row) for row in highest],
        ratings_by_instructor=by_instructor,
        credits_by_week=[credits[key] for key in sorted(credits)],
        busiest_hours=[by_hour[key] for key in sorted(by_hour)],
    )
