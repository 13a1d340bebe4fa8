"""The cast of the session API tests: one of each role around one virtual session."""

from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone

from accounts.models import User
from accounts.tests.factories import InstructorFactory, StaffFactory, StudentFactory
from bookings.tests.factories import BookingFactory
from scheduling.models import Semester, Session
from scheduling.tests.factories import SemesterFactory, SessionFactory

ROLES = ["anonymous", "student", "other_student", "instructor", "master", "staff"]


@dataclass
class World:
    semester: Semester
    session: Session
    master: User
    instructor: User
    student: User
    other_student: User
    staff: User
    outsider_instructor: User


def build_world() -> World:
    """`session` is virtual, taught by `instructor` in `master`'s semester; `student`
    holds a confirmed booking on it; `other_student` is eligible but has none."""
    master = InstructorFactory()
    semester = SemesterFactory(master_instructor=master)
    instructor = InstructorFactory()
    session = SessionFactory(
        semester=semester, instructor=instructor, session_type=Session.SessionType.VIRTUAL
    )
    student = StudentFactory()
    BookingFactory(student=student, session=session)
    return World(
        semester=semester,
        session=session,
        master=master,
        instructor=instructor,
        student=student,
        other_student=StudentFactory(),
        staff=StaffFactory(),
        outsider_instructor=InstructorFactory(),
    )


def session_payload(world: World, **overrides: object) -> dict:
    start = (timezone.now() + timedelta(days=5)).replace(minute=0, second=0, microsecond=0)
    return {
        "title": "Footwork clinic",
        "description": "Ladders and cones.",
        "semester": world.semester.pk,
        "instructor": world.instructor.pk,
        "session_type": "on_site",
        "date_start": start.isoformat(),
        "date_end": (start + timedelta(hours=2)).isoformat(),
        "capacity": 12,
        "credit_cost": 2,
        **overrides,
    }
