"""The cast of the API permission tables: one user of each role around two sessions.

`session` (semester `semester`, mastered by `master`) is taught by `instructor`;
`other_session` lives in another semester that `other_instructor` both masters
and teaches, so an instructor's scope can be told apart from every instructor's.
"""

from collections.abc import Callable
from dataclasses import dataclass

from accounts.models import User
from accounts.tests.factories import InstructorFactory, StaffFactory, StudentFactory
from bookings.tests.factories import CreditGrantFactory
from scheduling.models import Semester, Session
from scheduling.tests.factories import SemesterFactory, SessionFactory

ROLES = (
    "anonymous",
    "student",
    "other_student",
    "instructor",
    "master",
    "other_instructor",
    "staff",
)


@dataclass
class World:
    staff: User
    master: User
    instructor: User
    other_instructor: User
    student: User
    other_student: User
    semester: Semester
    other_semester: Semester
    session: Session
    other_session: Session

    def user(self, role: str) -> User | None:
        return None if role == "anonymous" else getattr(self, role)


def build_world(session_factory: Callable[..., Session] = SessionFactory) -> World:
    master = InstructorFactory()
    instructor = InstructorFactory()
    other_instructor = InstructorFactory()
    semester = SemesterFactory(master_instructor=master)
    other_semester = SemesterFactory(master_instructor=other_instructor)
    student = StudentFactory()
    other_student = StudentFactory()
    for someone in (student, other_student):
        CreditGrantFactory(user=someone, amount=10)
    return World(
        staff=StaffFactory(),
        master=master,
        instructor=instructor,
        other_instructor=other_instructor,
        student=student,
        other_student=other_student,
        semester=semester,
        other_semester=other_semester,
        session=session_factory(semester=semester, instructor=instructor),
        other_session=session_factory(semester=other_semester, instructor=other_instructor),
    )
