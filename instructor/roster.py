"""A session's roster as rows: the CSV download and the printable sign-in sheet.

One query each, whatever the roster's size: the bookings with their students, the
waitlist positions and the attendance status annotated on the same rows.
"""

import csv
import io
from dataclasses import dataclass

from django.db.models import OuterRef, QuerySet, Subquery
from django.utils import timezone

from accounts.models import User
from bookings.models import Booking
from engagement.models import Attendance
from reports.exports import formula_safe
from scheduling.models import Session

ROSTER_CSV_HEADER = ["Name", "Email", "Booking status", "Waitlist position", "Attendance"]
BY_NAME = ("student__last_name", "student__first_name", "student__username", "id")


@dataclass(frozen=True)
class RosterRow:
    name: str
    email: str
    status: str
    waitlist_position: int | None
    attendance: str


def live_bookings_by_name(session: Session) -> QuerySet[Booking]:
    return (
        Booking.objects.live().filter(session=session).select_related("student").order_by(*BY_NAME)
    )


def sign_in_students(session: Session) -> list[User]:
    """The confirmed students in alphabetical order: who is expected in the room."""
    bookings = live_bookings_by_name(session).filter(status=Booking.Status.CONFIRMED)
    return [booking.student for booking in bookings]


def roster_rows(session: Session) -> list[RosterRow]:
    """Confirmed students by name, then the waitlist in its order."""
    attendance = Attendance.objects.filter(
        session_id=OuterRef("session_id"), student_id=OuterRef("student_id")
    ).values("status")[:1]
    bookings = list(
        live_bookings_by_name(session)
        .with_waitlist_position()
        .annotate(attendance_status=Subquery(attendance))
    )
    bookings.sort(key=lambda b: (b.status != Booking.Status.CONFIRMED, b.waitlist_position or 0))
    labels = dict(Attendance.Status.choices)
    return [
        RosterRow(
            name=booking.student.display_name,
            email=booking.student.email,
            status=booking.get_status_display(),
            waitlist_position=booking.waitlist_position,
            attendance=labels.get(booking.attendance_status, ""),
        )
        for booking in bookings
    ]


def roster_csv(session: Session) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(ROSTER_CSV_HEADER)
    for row in roster_rows(session):
        cells = [row.name, row.email, row.status, row.waitlist_position, row.attendance]
        writer.writerow(["" if cell is None else formula_safe(str(cell)) for cell in cells])
    return buffer.getvalue()


def roster_filename(session: Session, extension: str) -> str:
    day = timezone.localdate(session.date_start).isoformat()
    return f"roster-{session.pk}-{day}.{extension}"
