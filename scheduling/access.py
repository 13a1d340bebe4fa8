"""Who may do what to a semester's sessions: each rule written once, here.

Services check them (`check_*` raise `PermissionDenied`), the pages and the API
ask them before showing or offering an action, and `bookings` and `engagement`
call them rather than restating them. The same rules as filters for lists live
beside the QuerySets (`taught_or_managed_q`, `semesters_managed_by`).

`lock_session` is here too: it is the first lock of every write on a session's
seats, taken by scheduling's and bookings' services alike, and it belongs with
the rules about a session rather than with any one app's writes.
"""

from django.apps import apps
from django.db.models import QuerySet

from accounts.models import User
from config.errors import PermissionDenied

from .models import Semester, Session


def can_manage_semester(user: User, semester: Semester) -> bool:
    """Staff and the semester's master instructor create, edit, cancel and delete its sessions."""
    return user.is_staff or semester.master_instructor_id == user.pk


def check_can_manage(user: User, semester: Semester) -> None:
    if not can_manage_semester(user, semester):
        raise PermissionDenied(
            f"Only staff or the master instructor of {semester.code} may manage its sessions."
        )


def semesters_managed_by(user: User) -> QuerySet[Semester]:
    """The semesters `can_manage_semester` allows, as a QuerySet (all of them for staff)."""
    semesters = Semester.objects.all()
    if user.is_staff:
        return semesters
    return semesters.filter(master_instructor=user)


def teaches_or_manages(user: User, session: Session) -> bool:
    """Staff, the session's instructor and its semester's master instructor.

    The list form of this rule is `Session.objects.taught_or_managed_by(user)`.
    """
    return session.instructor_id == user.pk or can_manage_semester(user, session.semester)


def can_view_roster(user: User, session: Session) -> bool:
    """The session's bookings and waitlist (SPEC §4): whoever teaches or manages it."""
    return teaches_or_manages(user, session)


def can_mark_attendance(user: User, session: Session) -> bool:
    """Attendance is recorded by whoever teaches or manages the session (SPEC §3)."""
    return teaches_or_manages(user, session)


def check_can_mark_attendance(user: User, session: Session) -> None:
    if not can_mark_attendance(user, session):
        raise PermissionDenied("Only staff or the session's instructors may record attendance.")


def can_see_meeting_link(user: User, session: Session) -> bool:
    """SPEC §4: staff, the session's instructor and master instructor, and students
    with a confirmed booking see the link.

    Reads `viewer_has_confirmed_booking` from `with_viewer_booking(user)` when the
    session came from such a list; otherwise asks the database once. The semester
    should be loaded with the session (select_related) so that no query is spent.
    A list row may be a named tuple carrying `semester_master_instructor_id`.
    """
    if user.is_staff or session.instructor_id == user.pk:
        return True
    master_id = getattr(session, "semester_master_instructor_id", None)
    if master_id is None:
        master_id = session.semester.master_instructor_id
    if master_id == user.pk:
        return True
    booked = getattr(session, "viewer_has_confirmed_booking", None)
    if booked is None:
        # By name: bookings sits above scheduling and is not imported from here.
        booking_model = apps.get_model("bookings", "Booking")
        booked = booking_model.objects.filter(
            session_id=session.id, student_id=user.pk, status="confirmed"
        ).exists()
    return bool(booked)


def lock_session(session_id: int) -> Session:
    """Take the session's row lock: the first lock of every write on its seats.

    Precondition: inside service_transaction(). Every writer locks the session
    before any user row, so two writers never wait on each other in a cycle.
    """
    return Session.objects.select_for_update().get(pk=session_id)
