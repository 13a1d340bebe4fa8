"""A small semester whose register and dashboard are computed by hand (README, "Reports").

Sessions (s4 cancelled; s5 ahead; the others held):
    s1 on site 09:00, by the master: Able present, Baker late, Carter booked but not marked
    s2 hybrid 09:00, capacity 2, master: Able absent, Baker excused, Carter waitlisted
    s3 on site 18:00, by the coach: Able present, Baker's booking cancelled, Carter present
    s4 cancelled (left out): Able's booking charged then refunded
    s5 on site 18:00, ahead: Able booked, Baker waitlisted
"""

from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone

from accounts.tests.factories import InstructorFactory, StaffFactory, StudentFactory
from bookings.models import Booking
from bookings.tests.factories import BookingFactory
from engagement.models import Attendance
from engagement.tests.factories import AttendanceFactory, FeedbackFactory
from scheduling.models import Semester, Session
from scheduling.tests.factories import SemesterFactory, SessionFactory


@dataclass
class World:
    semester: Semester
    staff: object
    master: object
    coach: object
    outsider: object
    able: object
    baker: object
    carter: object
    sessions: list[Session]


def at(days: int, hour: int):
    day = timezone.localtime() + timedelta(days=days)
    return day.replace(hour=hour, minute=0, second=0, microsecond=0)


def build_world() -> World:
    semester = SemesterFactory(code="REG")
    master = semester.master_instructor
    coach = InstructorFactory(username="coach")
    able = StudentFactory(username="able", first_name="Ann", last_name="Able")
    baker = StudentFactory(username="baker", first_name="Ben", last_name="Baker")
    carter = StudentFactory(username="carter", first_name="Cy", last_name="Carter")

    def session(title: str, start, **kwargs) -> Session:
        return SessionFactory(
            title=title,
            semester=semester,
            date_start=start,
            date_end=start + timedelta(hours=1),
            **kwargs,
        )

    s1 = session("s1", at(-10, 9))
    s2 = session("s2", at(-9, 9), session_type=Session.SessionType.HYBRID, capacity=2)
    s3 = session("s3", at(-8, 18), instructor=coach)
    s4 = session("s4", at(-7, 9), status=Session.Status.CANCELLED)
    s5 = session("s5", at(5, 18))
    confirmed, waitlisted, cancelled = (
        Booking.Status.CONFIRMED,
        Booking.Status.WAITLISTED,
        Booking.Status.CANCELLED,
    )
    for student, target, status in [
        (able, s1, confirmed),
        (baker, s1, confirmed),
        (carter, s1, confirmed),
        (able, s2, confirmed),
        (baker, s2, confirmed),
        (carter, s2, waitlisted),
        (able, s3, confirmed),
        (baker, s3, cancelled),
        (carter, s3, confirmed),
        (able, s5, confirmed),
        (baker, s5, waitlisted),
    ]:
        BookingFactory(student=student, session=target, status=status)
    # Charged, then refunded when the session was cancelled.
    BookingFactory(student=able, session=s4, status=cancelled, credits_charged=1)
    for student, target, status in [
        (able, s1, Attendance.Status.PRESENT),
        (baker, s1, Attendance.Status.LATE),
        (able, s2, Attendance.Status.ABSENT),
        (baker, s2, Attendance.Status.EXCUSED),
        (able, s3, Attendance.Status.PRESENT),
        (carter, s3, Attendance.Status.PRESENT),
    ]:
        AttendanceFactory(student=student, session=target, status=status)
    for student, target, rating in [(able, s1, 4), (baker, s1, 2), (able, s3, 5), (carter, s3, 3)]:
        FeedbackFactory(student=student, session=target, rating=rating)
    return World(
        semester=semester,
        staff=StaffFactory(),
        master=master,
        coach=coach,
        outsider=InstructorFactory(),
        able=able,
        baker=baker,
        carter=carter,
        sessions=[s1, s2, s3, s4, s5],
    )
