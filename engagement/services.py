"""Attendance, feedback and projects: writes shared by the API, pages and admin."""

from collections.abc import Iterable

from django.core.exceptions import ValidationError

from accounts.models import User
from activity import verbs
from activity.changes import diff, loaded_values
from activity.services import record
from bookings.models import Booking
from config.atomic import service_transaction
from config.errors import Conflict, PermissionDenied
from scheduling.models import Semester, Session
from scheduling.services import can_manage_semester, check_can_manage

from .models import Attendance, Feedback, Project


def can_mark_attendance(user: User, session: Session) -> bool:
    return session.instructor_id == user.pk or can_manage_semester(user, session.semester)


def attendance_record(*, session: Session, student: User, status: str, by: User) -> Attendance:
    """Record (or correct) one student's attendance once the session has started."""
    if not can_mark_attendance(by, session):
        raise PermissionDenied("Only staff or the session's instructors may record attendance.")
    if status not in Attendance.Status.values:
        raise ValidationError({"status": f"Choose one of {', '.join(Attendance.Status.values)}."})
    if not session.has_started():
        raise Conflict("Attendance opens when the session starts.", code="session_not_started")
    if not Booking.objects.filter(
        session=session, student=student, status=Booking.Status.CONFIRMED
    ).exists():
        raise Conflict(f"{student} holds no confirmed booking for this session.", code="not_booked")
    with service_transaction():
        attendance = (
            Attendance.objects.select_for_update().filter(session=session, student=student).first()
        )
        if attendance is None:
            # A concurrent first mark loses on the unique constraint: 409 already_marked.
            attendance = Attendance.objects.create(
                session=session, student=student, status=status, marked_by=by
            )
            verb, data = verbs.ATTENDANCE_RECORDED, {"status": status}
        else:
            old = attendance.status
            attendance.status, attendance.marked_by = status, by
            attendance.save(update_fields=["status", "marked_by", "marked_at"])
            verb, data = verbs.ATTENDANCE_CORRECTED, {"old": old, "new": status}
        record(
            actor=by,
            verb=verb,
            target=attendance,
            session_id=session.pk,
            student_id=student.pk,
            **data,
        )
    return attendance


def feedback_give(*, session: Session, student: User, rating: int, comment: str = "") -> Feedback:
    """A student marked present or late rates the session, once."""
    if not isinstance(rating, int) or not 1 <= rating <= 5:
        raise ValidationError({"rating": "The rating is a whole number from 1 to 5."})
    attended = Attendance.objects.filter(
        session=session,
        student=student,
        status__in=[Attendance.Status.PRESENT, Attendance.Status.LATE],
    ).exists()
    if not attended:
        raise Conflict(
            "Feedback is for students marked present or late at the session.",
            code="not_attended",
        )
    if Feedback.objects.filter(session=session, student=student).exists():
        raise Conflict("You have already given feedback on this session.", code="already_given")
    with service_transaction():
        feedback = Feedback.objects.create(
            session=session, student=student, rating=rating, comment=comment
        )
        record(
            actor=student,
            verb=verbs.FEEDBACK_GIVEN,
            target=feedback,
            session_id=session.pk,
            student_id=student.pk,
            rating=rating,
        )
    return feedback


def _check_sessions_in_semester(semester: Semester, sessions: Iterable[Session]) -> list[Session]:
    sessions = list(sessions)
    strangers = [s.pk for s in sessions if s.semester_id != semester.pk]
    if strangers:
        raise ValidationError(
            {"sessions": f"Sessions {strangers} are not in semester {semester.code}."}
        )
    return sessions


def project_create(
    *,
    by: User,
    semester: Semester,
    title: str,
    description: str = "",
    sessions: Iterable[Session] = (),
) -> Project:
    check_can_manage(by, semester)
    sessions = _check_sessions_in_semester(semester, sessions)
    with service_transaction():
        project = Project.objects.create(title=title, description=description, semester=semester)
        project.sessions.set(sessions)
        record(
            actor=by,
            verb=verbs.PROJECT_CREATED,
            target=project,
            title=title,
            sessions=[s.pk for s in sessions],
        )
    return project


def project_update(
    *,
    project: Project,
    by: User,
    title: str | None = None,
    description: str | None = None,
    sessions: Iterable[Session] | None = None,
) -> Project:
    check_can_manage(by, project.semester)
    # As read from the database: an admin form has already set the new values on the instance.
    old = loaded_values(project, ["title", "description"])
    if title is not None:
        project.title = title
    if description is not None:
        project.description = description
    changes = diff(old, {"title": project.title, "description": project.description})
    with service_transaction():
        project.save()
        if sessions is not None:
            sessions = _check_sessions_in_semester(project.semester, sessions)
            project.sessions.set(sessions)
            # The old membership is not read (that would cost a query): the new one is listed.
            changes["sessions"] = [None, sorted(s.pk for s in sessions)]
        if changes:
            record(actor=by, verb=verbs.PROJECT_UPDATED, target=project, changes=changes)
    return project


def project_delete(*, project: Project, by: User) -> None:
    check_can_manage(by, project.semester)
    with service_transaction():
        record(actor=by, verb=verbs.PROJECT_DELETED, target=project, title=project.title)
        project.delete()
