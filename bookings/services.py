"""Seats and credits. Every change of a booking or a balance goes through here.

Locking protocol (fixed order, so writers never deadlock): the session row
first (`lock_session`), then user rows, in ascending id when there are several.
Balances move only by conditional `F()` updates, each paired with a ledger row
in the same transaction.
"""

import time
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import F
from django.utils import timezone

from accounts.models import User
from config.atomic import service_transaction
from config.errors import Conflict, PermissionDenied
from scheduling.models import Session
from scheduling.services import can_manage_semester, lock_session

from .models import Booking, CreditTransaction

MAX_GRANT = 100_000


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
    if cost:
        CreditTransaction.objects.create(
            user_id=booking.student_id,
            amount=-cost,
            kind=CreditTransaction.Kind.BOOKING,
            booking=booking,
            note=f"Booking of session {booking.session_id}",
        )
    return True


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


def _lock(session_id: int) -> Session:
    # The negative control of the race tests switches the lock off to prove it matters.
    if getattr(settings, "BOOKING_TEST_DISABLE_LOCKS", False):
        return Session.objects.get(pk=session_id)
    return lock_session(session_id)


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
        has_seat = confirmed_count(session) < session.capacity
        _race_window()
        if has_seat:
            booking = Booking.objects.create(
                student=student, session=session, status=Booking.Status.CONFIRMED
            )
            if not _charge(booking, session.credit_cost):
                raise Conflict(
                    f"This session costs {session.credit_cost} credits; your balance is too low.",
                    code="insufficient_credits",
                )
            booking.save(update_fields=["credits_charged"])
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
    return booking


def promote_waitlist(session: Session) -> list[Booking]:
    """Confirm the oldest waitlisted bookings whose students can pay, while seats are free.

    Precondition: the session row is locked. Nobody is promoted once the session
    has started or when it is cancelled.
    """
    if session.status == Session.Status.CANCELLED or session.has_started():
        return []
    free = session.capacity - confirmed_count(session)
    promoted = []
    if free <= 0:
        return promoted
    for booking in Booking.objects.filter(session=session).waitlist_order():
        if not _charge(booking, session.credit_cost):
            continue
        booking.status = Booking.Status.CONFIRMED
        booking.save(update_fields=["status", "credits_charged"])
        promoted.append(booking)
        free -= 1
        if free == 0:
            break
    return promoted


@dataclass(frozen=True)
class CancellationResult:
    booking: Booking
    credits_refunded: int
    promoted: list[Booking]


def refund_deadline(session: Session) -> timezone.datetime:
    return session.date_start - timedelta(hours=settings.BOOKING_CANCELLATION_HOURS)


def cancel_booking(*, booking: Booking, by: User) -> CancellationResult:
    """Cancel a live booking; refund in full up to BOOKING_CANCELLATION_HOURS before
    the start, nothing later; a freed seat goes to the waitlist."""
    if not (by.is_staff or by.pk == booking.student_id):
        raise PermissionDenied("Only the student or staff may cancel this booking.")
    with service_transaction():
        session = _lock(booking.session_id)
        booking = Booking.objects.select_for_update().get(pk=booking.pk)
        if booking.status == Booking.Status.CANCELLED:
            raise Conflict("The booking is already cancelled.", code="already_cancelled")
        now = timezone.now()
        if session.has_started(now):
            raise Conflict("The session has already started.", code="session_started")
        was_confirmed = booking.status == Booking.Status.CONFIRMED
        refunded = 0
        if was_confirmed and now <= refund_deadline(session):
            refunded = _refund(booking, by=by, note="Cancelled in time: full refund")
        booking.status = Booking.Status.CANCELLED
        booking.cancelled_at = now
        booking.save(update_fields=["status", "cancelled_at"])
        promoted = promote_waitlist(session) if was_confirmed else []
    return CancellationResult(booking=booking, credits_refunded=refunded, promoted=promoted)


@dataclass(frozen=True)
class SessionCancellationResult:
    session: Session
    bookings_cancelled: int
    credits_refunded: int


def cancel_session(*, session: Session, by: User) -> SessionCancellationResult:
    """Cancel a session: every confirmed booking refunded in full, every open booking
    cancelled, all in one transaction."""
    if not can_manage_semester(by, session.semester):
        raise PermissionDenied(
            f"Only staff or the master instructor of {session.semester.code} may cancel it."
        )
    with service_transaction():
        locked = _lock(session.pk)
        if locked.status == Session.Status.CANCELLED:
            raise Conflict("The session is already cancelled.", code="session_cancelled")
        now = timezone.now()
        # Ascending student id: the fixed order for taking several user locks.
        open_bookings = list(
            Booking.objects.live().filter(session=locked).select_for_update().order_by("student_id")
        )
        refunded = 0
        for booking in open_bookings:
            if booking.status == Booking.Status.CONFIRMED:
                refunded += _refund(booking, by=by, note="Session cancelled: full refund")
            booking.status = Booking.Status.CANCELLED
            booking.cancelled_at = now
            booking.save(update_fields=["status", "cancelled_at"])
        locked.status = Session.Status.CANCELLED
        locked.save(update_fields=["status", "updated_at"])
    session.status = locked.status
    return SessionCancellationResult(
        session=session, bookings_cancelled=len(open_bookings), credits_refunded=refunded
    )


def grant_credits(*, student: User, amount: int, note: str = "", by: User) -> CreditTransaction:
    """Add credits to a student's balance with a ledger row (staff only)."""
    if not by.is_staff:
        raise PermissionDenied("Only staff may grant credits.")
    if not 1 <= amount <= MAX_GRANT:
        raise ValidationError({"amount": f"A grant is between 1 and {MAX_GRANT} credits."})
    with service_transaction():
        _credit(student.pk, amount)
        entry = CreditTransaction.objects.create(
            user=student, amount=amount, kind=CreditTransaction.Kind.GRANT, note=note, created_by=by
        )
    return entry
