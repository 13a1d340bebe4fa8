"""Reads of attendance and feedback scoped to who may see them (SPEC §4)."""

from django.db.models import QuerySet

from accounts.models import User
from scheduling.models import Session

from .models import Attendance, Feedback


def attendance_visible_to(user: User) -> QuerySet[Attendance]:
    """Staff see all; instructors the attendance of sessions they teach or manage.

    Students see none: attendance is the instructors' record (the API refuses them).
    """
    attendance = Attendance.objects.all()
    if user.is_staff:
        return attendance
    if user.is_instructor:
        return attendance.filter(
            session__in=Session.objects.taught_or_managed_by(user).values("pk")
        )
    return attendance.none()


def feedback_visible_to(user: User) -> QuerySet[Feedback]:
    """Students their own; instructors the feedback on sessions they teach or manage; staff all."""
    feedback = Feedback.objects.all()
    if user.is_staff:
        return feedback
    if user.is_instructor:
        return feedback.filter(session__in=Session.objects.taught_or_managed_by(user).values("pk"))
    return feedback.filter(student=user)
