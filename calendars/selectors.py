"""The sessions a calendar shows, each with what its event needs, in one statement."""

from datetime import timedelta

from django.db.models import (
    Case,
    Count,
    Exists,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import User
from activity import verbs
from activity.models import Activity
from bookings.models import Booking
from scheduling.models import Session
from scheduling.querysets import taught_or_managed_q

# A change of any of these is a change of time or place: the event's SEQUENCE grows,
# so calendar clients replace their copy (RFC 5545 §3.8.7.4).
SEQUENCE_FIELDS = ("date_start", "date_end", "location", "session_type", "meeting_link")

# How far back a subscribed feed reaches; later sessions are all in it.
FEED_HISTORY = timedelta(days=180)


def calendar_sequence() -> Coalesce:
    """SEQUENCE: the session.updated activities that moved its time or place, plus one once
    it is cancelled (a correlated COUNT over the activity log's session index).

    Read from the log rather than kept in a counter of our own: every edit is already
    recorded there, in the same transaction, and nothing can drift.
    """
    moves = (
        Activity.objects.filter(
            session_id=OuterRef("pk"),
            verb=verbs.SESSION_UPDATED,
            data__changes__has_any_keys=list(SEQUENCE_FIELDS),
        )
        .order_by()
        .values("session_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    cancelled = Case(
        When(status=Session.Status.CANCELLED, then=Value(1)),
        default=Value(0),
        output_field=IntegerField(),
    )
    return Coalesce(Subquery(moves, output_field=IntegerField()), Value(0)) + cancelled


def _with_event_columns(sessions: QuerySet[Session], user: User) -> QuerySet[Session]:
    """Annotate what an event shows beyond the session's columns: the caller's live booking
    (status and last change), whether they teach or manage it, and the SEQUENCE."""
    live = Booking.objects.live().filter(session_id=OuterRef("pk"), student_id=user.pk)
    teaches = taught_or_managed_q(user) if not user.is_staff else Q(pk__isnull=False)
    return (
        sessions.with_display_columns()
        .annotate(
            viewer_booking_status=Subquery(live.values("status")[:1]),
            viewer_booking_updated_at=Subquery(live.values("updated_at")[:1]),
            viewer_teaches=Case(When(teaches, then=Value(True)), default=Value(False)),
            calendar_sequence=calendar_sequence(),
        )
        .order_by("date_start", "id")
    )


def feed_sessions(user: User) -> list[Session]:
    """Sessions the user's feed shows, oldest first: those they teach or whose semester they
    master (staff too: their own, not the whole academy), their confirmed and waitlisted
    bookings, and sessions cancelled while they held a seat or a place on the waitlist
    (kept, as STATUS:CANCELLED, so calendars remove them). One query."""
    live = Booking.objects.live().filter(session_id=OuterRef("pk"), student_id=user.pk)
    # cancel_session cancels the open bookings with the session; the activity log says
    # which bookings were open then (a student's own earlier cancellation is not).
    dropped = Activity.objects.filter(
        verb=verbs.BOOKING_CANCELLED,
        session_id=OuterRef("pk"),
        student_id=user.pk,
        data__cancelled_by="session_cancelled",
    )
    shown = (
        taught_or_managed_q(user)
        | Q(Exists(live))
        | Q(status=Session.Status.CANCELLED) & Q(Exists(dropped))
    )
    sessions = Session.objects.filter(shown, date_end__gte=timezone.now() - FEED_HISTORY)
    return list(_with_event_columns(sessions, user))


def downloadable_session(user: User, pk: int) -> Session | None:
    """One session the user may see (SPEC §4), with its event columns; None otherwise."""
    sessions = Session.objects.visible_to(user).filter(pk=pk)
    return _with_event_columns(sessions, user).first()
