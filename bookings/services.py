"""Seats and credits. Every change of a booking or a balance goes through here.

Locking protocol (fixed order, so writers never wait on each other in a cycle):
session rows first, in ascending id when there are several (`lock_session`,
`_lock_sessions`), then user rows, in ascending id when there are several
(`_lock_users`, taken FOR NO KEY UPDATE so that inserts referencing those users
are not blocked). Balances move only by conditional `F()` updates, each paired
with a ledger row in the same transaction.

Promotion: whenever a seat frees up, capacity grows, or credits reach a student
who sits on a waitlist (a grant or a refund), the waitlists concerned are
promoted in the same transaction. So a waitlisted student who can pay never
waits while a seat is free (`bookings.integrity` checks exactly that).
"""

import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Count, F, Q
from django.utils import timezone

from accounts.models import User
from activity import verbs
from activity.models import Activity
from activity.services import build, record, record_many
from config.atomic import service_transaction
from config.errors import Conflict, PermissionDenied
from scheduling.models import Session
from scheduling.services import can_manage_semester, lock_session

from .models import Booking, CreditTransaction

MAX_GRANT = 100_000
NOTE_MAX_LENGTH = CreditTransaction._meta.get_field("note").max_length


def confirmed_count(session: Session) -> int:
    """Confirmed seats counted from the rows. Precondition: the session row is locked."""
    return Booking.objects.filter(session=session, status=Booking.Status.CONFIRMED).count()


def _debit(user_id: int, amount: int) -> bool:
    """Take `amount` credits if the balance covers them; False otherwise."""
    if amount == 0:
        return True
    return bool(
        User.objects.filter(pk=user_id, credit_balance__gte=amount).update(
            credit_balance=F("credit_balance") - amount
        )
    )


def _credit(user_id: int, amount: int) -> None:
    User.objects.filter(pk=user_id).update(credit_balance=F("credit_balance") + amount)


def _charge(booking: Booking, cost: int) -> bool:
    """Charge a booking's cost with its ledger row; False if the student cannot pay."""
    if not _debit(booking.student_id, cost):
        return False
    booking.credits_charged = cost
    _record_charge(booking)
    return True


def _record_charge(booking: Booking) -> None:
    """The ledger row of a charge already taken from the balance."""
    if booking.credits_charged:
        CreditTransaction.objects.create(
            user_id=booking.student_id,
            amount=-booking.credits_charged,
            kind=CreditTransaction.Kind.BOOKING,
            booking=booking,
            note=f"Booking of session {booking.session_id}",
        )


def _refund(booking: Booking, *, by: User | None, note: str) -> int:
    amount = booking.credits_charged
    if not amount:
        return 0
    _credit(booking.student_id, amount)
    CreditTransaction.objects.create(
        user_id=booking.student_id,
        amount=amount,
        kind=CreditTransaction.Kind.REFUND,
        booking=booking,
        note=note,
        created_by=by,
    )
    return amount


def _race_window() -> None:
    """Widens the window between counting seats and writing, for the race tests only."""
    delay = getattr(settings, "BOOKING_TEST_RACE_DELAY", 0)
    if delay:
        time.sleep(delay)


def _locks_disabled() -> bool:
    # The negative control of the race tests switches the lock off to prove it matters.
    return bool(getattr(settings, "BOOKING_TEST_DISABLE_LOCKS", False))


def _lock(session_id: int) -> Session:
    try:
        if _locks_disabled():
            return Session.objects.get(pk=session_id)
        return lock_session(session_id)
    except Session.DoesNotExist:
        # Deleted while the caller waited for its lock (or before): a state, not a crash.
        raise Conflict("The session no longer exists.", code="session_deleted") from None


def _lock_sessions(session_ids: Iterable[int]) -> dict[int, Session]:
    """Lock several sessions in ascending id, the protocol's order; returns them by id."""
    rows = Session.objects.filter(pk__in=set(session_ids)).order_by("pk")
    if not _locks_disabled():
        rows = rows.select_for_update()
    return {session.pk: session for session in rows}


def _lock_users(user_ids: Iterable[int]) -> dict[int, int]:
    """Lock user rows in ascending id before moving several balances in one transaction;
    returns their balances as of now (read under the lock, so current until we move them)."""
    ids = set(user_ids)
    if not ids:
        return {}
    rows = User.objects.filter(pk__in=ids).order_by("pk")
    if not _locks_disabled():
        rows = rows.select_for_update(no_key=True)
    return dict(rows.values_list("pk", "credit_balance"))


def _waitlisted_students(session_ids: Iterable[int]) -> set[int]:
    return set(
        Booking.objects.filter(
            session_id__in=set(session_ids), status=Booking.Status.WAITLISTED
        ).values_list("student_id", flat=True)
    )


def _promotable_sessions_of(student_ids: Iterable[int], now: datetime) -> set[int]:
    """Open sessions on whose waitlist any of these students sits: credits reaching
    them may let them (or, first, someone older on the same waitlist) be promoted."""
    return set(
        Booking.objects.filter(
            student_id__in=set(student_ids),
            status=Booking.Status.WAITLISTED,
            session__status=Session.Status.SCHEDULED,
            session__date_start__gt=now,
        ).values_list("session_id", flat=True)
    )


def is_eligible(student: User, session: Session) -> bool:
    return Session.objects.filter(pk=session.pk).eligible_for(student).exists()


def _check_open_for_booking(session: Session, now: timezone.datetime) -> None:
    if session.status == Session.Status.CANCELLED:
        raise Conflict("The session has been cancelled.", code="session_cancelled")
    if session.has_started(now):
        raise Conflict("The session has already started.", code="session_started")


def book_session(*, student: User, session: Session, by: User) -> Booking:
    """Book a seat: confirmed and charged while one is free, waitlisted when full."""
    if not (by.is_staff or by.pk == student.pk):
        raise PermissionDenied("You may only book for yourself.")
    if not student.is_student:
        raise Conflict("Only students can book sessions.", code="not_eligible")
    with service_transaction():
        session = _lock(session.pk)
        now = timezone.now()
        _check_open_for_booking(session, now)
        if not is_eligible(student, session):
            raise Conflict("You are not eligible for this session.", code="not_eligible")
        if Booking.objects.live().filter(session=session, student=student).exists():
            raise Conflict("You already hold a booking for this session.", code="already_booked")
        # Both counts in one statement: the waitlist's length gives a new entry's position.
        counts = Booking.objects.filter(session=session).aggregate(
            confirmed=Count("pk", filter=Q(status=Booking.Status.CONFIRMED)),
            waitlisted=Count("pk", filter=Q(status=Booking.Status.WAITLISTED)),
        )
        has_seat = counts["confirmed"] < session.capacity
        _race_window()
        if has_seat:
            # Debit first, so the booking row is written once, with what it cost.
            if not _debit(student.pk, session.credit_cost):
                raise Conflict(
                    f"This session costs {session.credit_cost} credits; your balance is too low.",
                    code="insufficient_credits",
                )
            booking = Booking.objects.create(
                student=student,
                session=session,
                status=Booking.Status.CONFIRMED,
                credits_charged=session.credit_cost,
            )
            _record_charge(booking)
            record(
                actor=by,
                verb=verbs.BOOKING_CONFIRMED,
                target=booking,
                session_id=session.pk,
                student_id=student.pk,
                credits_charged=booking.credits_charged,
            )
        else:
            balance = User.objects.values_list("credit_balance", flat=True).get(pk=student.pk)
            if balance < session.credit_cost:
                raise Conflict(
                    f"This session costs {session.credit_cost} credits; your balance is too low "
                    "to join its waitlist.",
                    code="insufficient_credits",
                )
            booking = Booking.objects.create(
                student=student, session=session, status=Booking.Status.WAITLISTED
            )
            # New entries join the end of waitlist_order() (created_at, id).
            record(
                actor=by,
                verb=verbs.BOOKING_WAITLISTED,
                target=booking,
                session_id=session.pk,
                student_id=student.pk,
                waitlist_position=counts["waitlisted"] + 1,
            )
    return booking


def promote_waitlist(session: Session) -> list[Booking]:
    """Confirm the oldest waitlisted bookings whose students can pay, while seats are free.

    Precondition: the session row is locked; if the caller has already moved a
    balance in this transaction, it has also locked the waitlisted students' rows
    (`_lock_users`, one ascending batch). Nobody is promoted once the session has
    started or when it is cancelled.
    """
    if session.status == Session.Status.CANCELLED or session.has_started():
        return []
    free = session.capacity - confirmed_count(session)
    promoted: list[Booking] = []
    if free <= 0:
        return promoted
    waitlist = list(Booking.objects.filter(session=session).waitlist_order())
    if not waitlist:
        return promoted
    # A no-op lock when the caller already holds them (it must, if it moved another
    # balance first); the balances are read either way, for each promotion's activity.
    balances = _lock_users(booking.student_id for booking in waitlist)
    for booking in waitlist:
        if not _charge(booking, session.credit_cost):
            continue
        booking.status = Booking.Status.CONFIRMED
        booking.save(update_fields=["status", "credits_charged"])
        booking.balance_after = balances.get(booking.student_id, 0) - booking.credits_charged
        promoted.append(booking)
        free -= 1
        if free == 0:
            break
    return promoted


def promotion_activities(promoted: list[Booking]) -> list[Activity]:
    """The `booking.promoted` activities of `promote_waitlist`'s result, for the caller's
    `record_many` (one INSERT with its own activities). The system acts: nobody chose them."""
    return [
        build(
            actor=None,
            verb=verbs.BOOKING_PROMOTED,
            target=booking,
            session_id=booking.session_id,
            student_id=booking.student_id,
            credits_charged=booking.credits_charged,
            balance_after=booking.balance_after,
        )
        for booking in promoted
    ]


def _cancelled_by(by: User, booking: Booking) -> str:
    if by.pk == booking.student_id:
        return "student"
    return "staff" if by.is_staff else "instructor"


@dataclass(frozen=True)
class CancellationResult:
    booking: Booking
    credits_refunded: int
    promoted: list[Booking]


def refund_deadline(session: Session) -> timezone.datetime:
    return session.date_start - timedelta(hours=settings.BOOKING_CANCELLATION_HOURS)


def _promote_after_refunds(
    sessions: dict[int, Session], refunded_students: set[int], *, skip: int | None = None
) -> list[Booking]:
    """Credits reached `refunded_students`: promote the waitlists they sit on.

    Precondition: every session of `_promotable_sessions_of(refunded_students)`
    is in `sessions` (locked) and the users concerned are locked.
    """
    promoted: list[Booking] = []
    if not refunded_students:
        return promoted
    for session_id in sorted(_promotable_sessions_of(refunded_students, timezone.now())):
        if session_id != skip and session_id in sessions:
            promoted += promote_waitlist(sessions[session_id])
    return promoted


def cancel_booking(*, booking: Booking, by: User) -> CancellationResult:
    """Cancel a live booking; refund in full up to BOOKING_CANCELLATION_HOURS before
    the start, nothing later; a freed seat goes to the waitlist.

    The refund may let the student leave another session's waitlist: those
    sessions are locked up front with this one, in ascending id.
    """
    if not (by.is_staff or by.pk == booking.student_id):
        raise PermissionDenied("Only the student or staff may cancel this booking.")
    with service_transaction():
        now = timezone.now()
        others = _promotable_sessions_of([booking.student_id], now)
        sessions = _lock_sessions({booking.session_id} | others)
        if booking.session_id not in sessions:
            raise Conflict("The session no longer exists.", code="session_deleted")
        session = sessions[booking.session_id]
        booking = Booking.objects.select_for_update().get(pk=booking.pk)
        if booking.status == Booking.Status.CANCELLED:
            raise Conflict("The booking is already cancelled.", code="already_cancelled")
        now = timezone.now()
        if session.has_started(now):
            raise Conflict("The session has already started.", code="session_started")
        was = booking.status
        was_confirmed = was == Booking.Status.CONFIRMED
        refundable = (
            was_confirmed and booking.credits_charged > 0 and now <= refund_deadline(session)
        )
        if was_confirmed:
            # Every balance this transaction may move, in one ascending batch.
            lock_ids = {booking.student_id} | _waitlisted_students([session.pk])
            if refundable:
                lock_ids |= _waitlisted_students(others)
            _lock_users(lock_ids)
        refunded = 0
        if refundable:
            refunded = _refund(booking, by=by, note="Cancelled in time: full refund")
        booking.status = Booking.Status.CANCELLED
        booking.cancelled_at = now
        booking.save(update_fields=["status", "cancelled_at"])
        promoted = promote_waitlist(session) if was_confirmed else []
        if refunded:
            promoted += _promote_after_refunds(sessions, {booking.student_id}, skip=session.pk)
        cancelled = build(
            actor=by,
            verb=verbs.BOOKING_CANCELLED,
            target=booking,
            session_id=session.pk,
            student_id=booking.student_id,
            credits_refunded=refunded,
            cancelled_by=_cancelled_by(by, booking),
            was=was,
        )
        record_many([cancelled, *promotion_activities(promoted)])
    return CancellationResult(booking=booking, credits_refunded=refunded, promoted=promoted)


@dataclass(frozen=True)
class SessionCancellationResult:
    session: Session
    bookings_cancelled: int
    credits_refunded: int


def cancel_session(*, session: Session, by: User) -> SessionCancellationResult:
    """Cancel a session: every confirmed booking refunded in full, every open booking
    cancelled, all in one transaction. The refunds may promote the students on
    other sessions' waitlists, which are locked up front with this one."""
    if not can_manage_semester(by, session.semester):
        raise PermissionDenied(
            f"Only staff or the master instructor of {session.semester.code} may cancel it."
        )
    with service_transaction():
        now = timezone.now()
        payers = set(
            Booking.objects.filter(
                session_id=session.pk, status=Booking.Status.CONFIRMED, credits_charged__gt=0
            ).values_list("student_id", flat=True)
        )
        sessions = _lock_sessions({session.pk} | _promotable_sessions_of(payers, now))
        if session.pk not in sessions:
            raise Conflict("The session no longer exists.", code="session_deleted")
        locked = sessions[session.pk]
        if locked.status == Session.Status.CANCELLED:
            raise Conflict("The session is already cancelled.", code="session_cancelled")
        open_bookings = list(
            Booking.objects.live().filter(session=locked).select_for_update().order_by("pk")
        )
        refunded_students = {
            b.student_id
            for b in open_bookings
            if b.status == Booking.Status.CONFIRMED and b.credits_charged > 0
        }
        # The payers were read before the lock; the waitlists of their other sessions
        # are locked only if those sessions were locked above.
        _lock_users(refunded_students | _waitlisted_students(set(sessions) - {locked.pk}))
        refunded = 0
        entries = []
        for booking in open_bookings:
            was = booking.status
            amount = 0
            if was == Booking.Status.CONFIRMED:
                amount = _refund(booking, by=by, note="Session cancelled: full refund")
                refunded += amount
            booking.status = Booking.Status.CANCELLED
            booking.cancelled_at = now
            booking.save(update_fields=["status", "cancelled_at"])
            entries.append(
                build(
                    actor=by,
                    verb=verbs.BOOKING_CANCELLED,
                    target=booking,
                    session_id=locked.pk,
                    student_id=booking.student_id,
                    credits_refunded=amount,
                    cancelled_by="session_cancelled",
                    was=was,
                )
            )
        locked.status = Session.Status.CANCELLED
        locked.save(update_fields=["status", "updated_at"])
        promoted = _promote_after_refunds(sessions, refunded_students, skip=locked.pk)
        summary = build(
            actor=by,
            verb=verbs.SESSION_CANCELLED,
            target=locked,
            session_id=locked.pk,
            bookings_cancelled=len(open_bookings),
            credits_refunded=refunded,
        )
        # 1 + N activities, and the promotions the refunds caused elsewhere: one INSERT.
        record_many([summary, *entries, *promotion_activities(promoted)])
    session.status = locked.status
    return SessionCancellationResult(
        session=session, bookings_cancelled=len(open_bookings), credits_refunded=refunded
    )


def grant_credits(*, student: User, amount: int, note: str = "", by: User) -> CreditTransaction:
    """Add credits to a student's balance with a ledger row (staff only).

    The credits may let the student leave waitlists of sessions with a free seat:
    those are promoted in the same transaction (their sessions locked first).
    """
    if not by.is_staff:
        raise PermissionDenied("Only staff may grant credits.")
    errors = {}
    if not student.is_student:
        errors["student"] = "Credits are granted to students only."
    if not isinstance(amount, int) or not 1 <= amount <= MAX_GRANT:
        errors["amount"] = f"A grant is between 1 and {MAX_GRANT} credits."
    if len(note) > NOTE_MAX_LENGTH:
        errors["note"] = f"A note has at most {NOTE_MAX_LENGTH} characters."
    if errors:
        raise ValidationError(errors)
    with service_transaction():
        sessions = _lock_sessions(_promotable_sessions_of([student.pk], timezone.now()))
        _lock_users({student.pk} | _waitlisted_students(sessions))
        _credit(student.pk, amount)
        entry = CreditTransaction.objects.create(
            user=student, amount=amount, kind=CreditTransaction.Kind.GRANT, note=note, created_by=by
        )
        promoted = _promote_after_refunds(sessions, {student.pk})
        granted = build(
            actor=by,
            verb=verbs.CREDITS_GRANTED,
            target=entry,
            student_id=student.pk,
            amount=amount,
            note=note,
        )
        record_many([granted, *promotion_activities(promoted)])
    return entry
