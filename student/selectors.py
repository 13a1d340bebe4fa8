"""The reads behind the student pages: the API's QuerySets, narrowed to one student.

Every list is one statement for its rows (plus the paginator's count where it pages):
the figures come from `with_stats()`, the names from `with_display_columns()`, a
booking's place on the waitlist from `with_waitlist_position()`.
"""

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet, Subquery, Sum, Window
from django.utils import timezone

from accounts.models import User
from bookings.models import Booking, CreditTransaction
from bookings.selectors import credit_transactions_visible_to
from engagement.models import Attendance, Feedback, Project
from scheduling.models import Semester, Session, Specialization
from scheduling.querysets import SessionQuerySet


def live_booking_of(student: User) -> Subquery:
    """The status of the student's live booking of the outer session (null when none)."""
    return Subquery(
        Booking.objects.live()
        .filter(session_id=OuterRef("pk"), student_id=student.pk)
        .values("status")[:1]
    )


def bookable_sessions(student: User) -> SessionQuerySet:
    """The schedule: what the API shows the student (`visible_to`) that they may book
    (`eligible_for`), not started and not cancelled, with the figures of each card."""
    return (
        Session.objects.visible_to(student)
        .eligible_for(student)
        .filter(status=Session.Status.SCHEDULED, date_start__gt=timezone.now())
        .with_stats()
        .with_display_columns()
        .annotate(my_booking=live_booking_of(student))
    )


def session_for(student: User) -> SessionQuerySet:
    """One session the student may see (404 otherwise), with what its page shows."""
    return (
        Session.objects.visible_to(student)
        .with_stats()
        .with_display_columns()
        .with_viewer_booking(student)
        .select_related("semester", "group", "target_specialization")
    )


def catalogue_semesters(student: User) -> QuerySet[Semester]:
    """The semesters of the sessions the student may see: the filter's choices."""
    return Semester.objects.filter(
        pk__in=Session.objects.visible_to(student).values("semester_id")
    ).order_by("-start_date", "code")


def specializations() -> QuerySet[Specialization]:
    return Specialization.objects.order_by("name")


def bookings_of(student: User) -> QuerySet[Booking]:
    """The student's bookings with their sessions, live waitlist places, and whether
    they attended and gave feedback (for "Give feedback")."""
    attended = Attendance.objects.filter(
        session_id=OuterRef("session_id"),
        student_id=student.pk,
        status__in=[Attendance.Status.PRESENT, Attendance.Status.LATE],
    )
    gave = Feedback.objects.filter(session_id=OuterRef("session_id"), student_id=student.pk)
    return (
        Booking.objects.visible_to(student)
        .with_waitlist_position()
        .annotate(attended=Exists(attended), feedback_given=Exists(gave))
        .select_related("session", "session__instructor")
    )


def ledger_of(student: User) -> QuerySet[CreditTransaction]:
    """The student's ledger, newest first, each row with the balance it left.

    The balance after a row is the running sum up to it (the ledger invariant: the
    balance is the sum of the rows), computed by the database for the page's rows.
    """
    running = Window(Sum("amount"), order_by=["created_at", "id"])
    return (
        credit_transactions_visible_to(student)
        .filter(user=student)
        .annotate(balance_after=running)
        .select_related("booking__session")
        .order_by("-created_at", "-id")
    )


def projects_of(student: User) -> QuerySet[Project]:
    """Projects of the semesters the student takes part in (a group or a booking there,
    or the current catalogue), each with the sessions the student may see."""
    semesters = Semester.objects.filter(
        Q(groups__members=student)
        | Q(sessions__bookings__student=student)
        | Q(pk__in=Session.objects.visible_to(student).values("semester_id"))
    ).values("pk")
    visible = Session.objects.visible_to(student).order_by("date_start", "id")
    return (
        Project.objects.filter(semester__in=semesters)
        .select_related("semester")
        .prefetch_related(Prefetch("sessions", queryset=visible, to_attr="visible_sessions"))
        .order_by("semester__start_date", "title", "id")
    )
