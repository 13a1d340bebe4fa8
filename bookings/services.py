"""Seats and credits. Every change of a booking or a balance goes through here.

Locking protocol (fixed order, so writers never wait on each other in a cycle):
session rows first, in ascending id when there are several (`lock_session`,
`_lock_sessions`), then user rows, in ascending id when there are several
(`_lock_users`, taken FOR NO KEY UPDATE so that inserts referencing those users
are not blocked). A booking row is written only under its session's lock, so a
read made after that lock is current without locking the booking itself. Balances
move only by `F()` updates, each paired with a ledger row in the same transaction:
conditional ones (`credit_balance >= cost`), or, where several move at once, one
UPDATE with an amount per user (`_move_balances`) planned from balances read under
the users' locks; the CHECK constraint refuses a negative balance either way.

Promotion: whenever a seat frees up, capacity grows, or credits reach a student
who sits on a waitlist (a grant, a positive adjustment or a refund), the waitlists concerned are
promoted in the same transaction. So a waitlisted student who can pay never
waits while a seat is free (`bookings.integrity` checks exactly that).
"""

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import (
    BooleanField,
    Case,
    Count,
    Exists,
    ExpressionWrapper,
    F,
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
from activity.services import build, record, record_many
from config.atomic import service_transaction
from config.errors import Busy, Conflict, PermissionDenied
from scheduling.access import can_manage_semester, lock_session
from scheduling.errors import SESSION_CANCELLED, SESSION_DELETED, SESSION_STARTED
from scheduling.models import Session
from scheduling.querysets import eligibility_q
from scheduling.services import session_update_apply, session_update_prepare

from .errors import (
    ALREADY_BOOKED,
    ALREADY_CANCELLED,
    CAPACITY_BELOW_CONFIRMED,
    INSUFFICIENT_CREDITS,
    NOT_ELIGIBLE,
)
from .models import Booking, CreditTransaction

_T = TypeVar("_T")

MAX_GRANT = 100_000
NOTE_MAX_LENGTH = CreditTransaction._meta.get_field("note").max_length


def confirmed_count(session: Session) -> int:
    """Confirmed seats counted from the rows. Precondition: the session row is locked."""
    return Booking.objects.filter(session=session, status=Booking.Status.CONFIRMED).count()


def seat_counts(session: Session, student_id: int | None = None) -> dict[str, int]:
    """Confirmed and waitlisted bookings in one statement (the waitlist's length gives a
    new entry's position), and `held`: the live bookings of `student_id` among them.

    Precondition: the session row is locked. This must be a statement of its own,
    run after the lock statement: READ COMMITTED gives each statement the snapshot of
    its start, so counts taken inside the lock statement would miss the bookings of
    the writer it waited for.
    """
    held = Q(student_id=student_id) & ~Q(status=Booking.Status.CANCELLED)
    return Booking.objects.filter(session=session).aggregate(
        confirmed=Count("pk", filter=Q(status=Booking.Status.CONFIRMED)),
        waitlisted=Count("pk", filter=Q(status=Booking.Status.WAITLISTED)),
        held=Count("pk", filter=held),
    )


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


def _charge_row(booking: Booking) -> CreditTransaction:
    """The (unsaved) ledger row of a booking's charge."""
    return CreditTransaction(
        user_id=booking.student_id,
        amount=-booking.credits_charged,
        kind=CreditTransaction.Kind.BOOKING,
        booking=booking,
        note=f"Booking of session {booking.session_id}",
    )


def _record_charge(booking: Booking) -> None:
    """The ledger row of a charge already taken from the balance."""
    if booking.credits_charged:
        _charge_row(booking).save(force_insert=True)


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


def _lock_for_booking(session_id: int, student: User, viewer: User | None = None) -> Session:
    """`lock_session` with the student's eligibility read in the same statement
    (`student_eligible`): it depends on the session's own columns and on group
    membership, which no booking writer changes, so it needs no statement of its own.

    With `viewer`, only a session that the viewer may see is found (and locked): the
    API's lookup and the lock in one statement.
    """
    eligible = ExpressionWrapper(eligibility_q(student), output_field=BooleanField())
    sessions = Session.objects.all() if viewer is None else Session.objects.visible_to(viewer)
    try:
        return (
            sessions.filter(pk=session_id)
            .annotate(student_eligible=eligible)
            .select_for_update(of=("self",))
            .get()
        )
    except Session.DoesNotExist:
        if viewer is not None:
            # What DRF's related field answers for an id the caller cannot see.
            raise ValidationError(
                {"session": [f'Invalid pk "{session_id}" - object does not exist.']}
            ) from None
        raise Conflict("The session no longer exists.", code=SESSION_DELETED) from None


def _lock_sessions(session_ids: Iterable[int]) -> dict[int, Session]:
    """Lock several sessions in ascending id, the protocol's order; returns them by id."""
    rows = Session.objects.filter(pk__in=set(session_ids)).order_by("pk").select_for_update()
    return {session.pk: session for session in rows}


def _lock_users(user_ids: Iterable[int], *, waiting_on: set[int] | None = None) -> dict[int, int]:
    """Lock user rows in ascending id before moving several balances in one transaction;
    returns their balances as of now (read under the lock, so current until we move them).

    With `waiting_on` (locked sessions), the students waitlisted on them too, in the same
    statement: those sessions are locked, so their waitlists cannot change meanwhile."""
    wanted = Q(pk__in=set(user_ids))
    if waiting_on:
        wanted |= Q(pk__in=_waiting_students(waiting_on))
    rows = User.objects.filter(wanted).order_by("pk").select_for_update(no_key=True)
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


class _PromotableSetGrew(Exception):
    """Under the locks, a student turned out to wait on a session that was not locked."""


# A student joins one more waitlist between two reads at most now and then; a third
# growth in a row means a client is racing its own cancellations: busy, retry.
PROMOTION_ATTEMPTS = 3


def _promotable_sessions_locked(
    student_ids: Iterable[int], sessions: dict[int, Session]
) -> set[int]:
    """The promotable sessions of `student_ids`, read under the locks.

    Precondition: the students' user rows are locked. From then on no other writer
    can leave them waitlisted beside a seat they can pay for without waiting for
    this transaction (promoting them needs their row), so this read is complete.
    The sessions were locked from an earlier read (the lock order puts sessions
    before users); if the student has joined a waitlist since, the transaction is
    rolled back and run again (`_retry_if_promotable_set_grew`), so that the new
    session is locked in order too.
    """
    ids = set(student_ids)
    if not ids:
        return set()
    promotable = _promotable_sessions_of(ids, timezone.now())
    if not promotable <= set(sessions):
        raise _PromotableSetGrew
    return promotable


def _retry_if_promotable_set_grew(service: Callable[..., "_T"]) -> Callable[..., "_T"]:
    """Run the service again, from its first read, when `_PromotableSetGrew` rolled it back."""

    @functools.wraps(service)
    def run(**kwargs: object) -> "_T":
        for _ in range(PROMOTION_ATTEMPTS - 1):
            try:
                return service(**kwargs)
            except _PromotableSetGrew:
                continue
        try:
            return service(**kwargs)
        except _PromotableSetGrew as error:
            raise Busy("The student's waitlists keep changing; retry shortly.") from error

    return run


def is_eligible(student: User, session: Session) -> bool:
    return Session.objects.filter(pk=session.pk).eligible_for(student).exists()


def _check_open_for_booking(session: Session) -> None:
    if session.status == Session.Status.CANCELLED:
        raise Conflict("The session has been cancelled.", code=SESSION_CANCELLED)
    if session.has_started():
        raise Conflict("The session has already started.", code=SESSION_STARTED)


def book_session(
    *, student: User, session: Session | int, by: User, visible_to: User | None = None
) -> Booking:
    """Book a seat: confirmed and charged while one is free, waitlisted when full.

    `session` is a Session or its id. With `visible_to`, a session that user may not
    see is, to them, one that does not exist: a ValidationError on `session`, checked
    in the statement that locks it (the API's lookup costs no statement of its own).
    The booking comes back with its session, its student and `waitlist_position` set.
    """
    session_id = session if isinstance(session, int) else session.pk
    if not (by.is_staff or by.pk == student.pk):
        raise PermissionDenied("You may only book for yourself.")
    if not student.is_student:
        raise Conflict("Only students can book sessions.", code=NOT_ELIGIBLE)
    with service_transaction():
        session = _lock_for_booking(session_id, student, visible_to)
        _check_open_for_booking(session)
        if not session.student_eligible:
            raise Conflict("You are not eligible for this session.", code=NOT_ELIGIBLE)
        counts = seat_counts(session, student.pk)
        if counts["held"]:
            raise Conflict("You already hold a booking for this session.", code=ALREADY_BOOKED)
        has_seat = counts["confirmed"] < session.capacity
        if has_seat:
            # Debit first, so the booking row is written once, with what it cost.
            if not _debit(student.pk, session.credit_cost):
                raise Conflict(
                    f"This session costs {session.credit_cost} credits; your balance is too low.",
                    code=INSUFFICIENT_CREDITS,
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
                    code=INSUFFICIENT_CREDITS,
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
        # The booking carries all its representation shows (session, student, place),
        # held before the commit: nothing needs the database once the seat is taken.
        booking.waitlist_position = (
            counts["waitlisted"] + 1 if booking.status == Booking.Status.WAITLISTED else None
        )
    return booking


def promote_waitlist(session: Session) -> list[Booking]:
    """Confirm the oldest waitlisted bookings whose students can pay, while seats are free.

    Precondition: the session row is locked; if the caller has already moved a
    balance in this transaction, it has also locked the waitlisted students' rows
    (`_lock_users`, one ascending batch). Nobody is promoted once the session has
    started or when it is cancelled.

    Capacity, cost, status and start are read from the locked row with the seat
    count, not taken from `session`: a caller may hold an object read before the
    lock (`session_update` does), and another edit may have committed since.
    """
    if session.status == Session.Status.CANCELLED:
        return []  # Final: no later edit can reopen it.
    session = (
        Session.objects.filter(pk=session.pk)
        .annotate(confirmed=Count("bookings", filter=Q(bookings__status=Booking.Status.CONFIRMED)))
        .only("pk", "status", "date_start", "capacity", "credit_cost")
        .get()
    )
    promoted: list[Booking] = []
    if session.status == Session.Status.CANCELLED or session.has_started():
        return promoted
    free = session.capacity - session.confirmed
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
        booking.save(update_fields=["status", "credits_charged", "updated_at"])
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


def session_update(*, session: Session, by: User, **changes: Any) -> Session:
    """Edit a session: the one entry every surface calls (API, pages, admin).

    Scheduling checks and saves the fields (`session_update_prepare`,
    `session_update_apply`); the seats are this app's, in the same transaction:
    lowering the capacity below the confirmed count is refused, and raising it, or
    lowering the cost, promotes waitlisted students who can now pay.
    """
    session_update_prepare(session=session, by=by, changes=changes)
    with service_transaction():
        locked = lock_session(session.pk)
        entries = session_update_apply(session=session, locked=locked, by=by, changes=changes)
        confirmed = confirmed_count(locked)
        if session.capacity < confirmed:
            raise Conflict(
                f"Capacity {session.capacity} is below the {confirmed} confirmed bookings.",
                code=CAPACITY_BELOW_CONFIRMED,
            )
        # A lower cost can let waiting students pay for seats that were already free.
        promoted = []
        if session.capacity > locked.capacity or session.credit_cost < locked.credit_cost:
            promoted = promote_waitlist(session)
        # One INSERT for the edit and the promotions it caused.
        record_many(entries + promotion_activities(promoted))
    return session


def _cancelled_by(by: User, booking: Booking) -> str:
    # Only the student or staff may cancel a single booking (`cancel_booking`); an
    # instructor's cancellations are their session's ("session_cancelled").
    return "student" if by.pk == booking.student_id else "staff"


@dataclass(frozen=True)
class CancellationResult:
    booking: Booking
    credits_refunded: int
    promoted: list[Booking]


def refund_deadline(session: Session) -> timezone.datetime:
    return session.date_start - timedelta(hours=settings.BOOKING_CANCELLATION_HOURS)


def cancellation_refund(booking: Booking, session: Session, now: datetime) -> int:
    """What cancelling `booking` at `now` gives back: the full charge of a confirmed
    booking up to `refund_deadline`, nothing later (a waitlisted one was never charged).
    The pages say it before the student confirms; `cancel_booking` applies it."""
    if booking.status != Booking.Status.CONFIRMED or now > refund_deadline(session):
        return 0
    return booking.credits_charged


def _promote_after_refunds(
    sessions: dict[int, Session], promotable: set[int], *, skip: int | None = None
) -> list[Booking]:
    """Credits reached students waiting on the `promotable` sessions: promote those waitlists.

    Precondition: `promotable` comes from `_promotable_sessions_locked`, so every one
    of its sessions is in `sessions` (locked) and the users concerned are locked.
    """
    promoted: list[Booking] = []
    for session_id in sorted(promotable - {skip}):
        promoted += promote_waitlist(sessions[session_id])
    return promoted


def _lock_for_cancel(
    booking_id: int, viewer: User | None, now: datetime
) -> tuple[dict[int, Session], int | None, int | None]:
    """Lock the booking's session and the sessions on whose waitlists its student sits
    (a refund may promote them), in ascending id, in one statement that also finds the
    booking: returns the locked sessions with the booking's session and student ids
    (None when there is no such booking).

    With `viewer`, only a booking that user may see is found, and only its sessions are
    locked: the API's lookup and the lock in one statement. The waitlists are read as
    the statement starts, as a read before the lock would be: they are read again under
    the locks (`_cancellation_rows`)."""
    bookings = Booking.objects.all() if viewer is None else Booking.objects.visible_to(viewer)
    target = bookings.filter(pk=booking_id)
    waiting_on = Booking.objects.filter(
        student_id__in=target.values("student_id"),
        status=Booking.Status.WAITLISTED,
        session__status=Session.Status.SCHEDULED,
        session__date_start__gt=now,
    ).values("session_id")
    rows = list(
        Session.objects.filter(Q(pk__in=target.values("session_id")) | Q(pk__in=waiting_on))
        .annotate(
            booking_session_id=Subquery(target.values("session_id")),
            booking_student_id=Subquery(target.values("student_id")),
        )
        .order_by("pk")
        .select_for_update(of=("self",))
    )
    if not rows:
        return {}, None, None
    return {s.pk: s for s in rows}, rows[0].booking_session_id, rows[0].booking_student_id


def _lock_users_for_cancel(
    booking_id: int, student_id: int, session_id: int, others: set[int], refund_possible: bool
) -> dict[int, int]:
    """Lock, in ascending id and in one statement, every balance the cancellation may
    move, and return them: when the booking is confirmed, its student's and those of
    the students waiting on its session (the freed seat); when it is also refundable,
    those of the students waiting on `others` too (the refund may promote there).

    The booking's status is read in the statement itself: the session lock is held, so
    it cannot change before the rows are read again (`_cancellation_rows`)."""
    confirmed = Booking.objects.filter(pk=booking_id, status=Booking.Status.CONFIRMED)
    freed_seat = (Q(pk=student_id) | Q(pk__in=_waiting_students({session_id}))) & Exists(confirmed)
    wanted = freed_seat
    if refund_possible and others:
        refund = Exists(confirmed.filter(credits_charged__gt=0))
        wanted |= Q(pk__in=_waiting_students(others)) & refund
    rows = User.objects.filter(wanted).order_by("pk").select_for_update(no_key=True)
    return dict(rows.values_list("pk", "credit_balance"))


def _waiting_students(session_ids: set[int]) -> QuerySet:
    return Booking.objects.filter(
        session_id__in=session_ids, status=Booking.Status.WAITLISTED
    ).values("student_id")


def _rows_under_locks(
    session_ids: set[int], student_id: int, now: datetime, booking_id: int | None = None
) -> tuple[Booking | None, dict[int, list[Booking]], dict[int, int], set[int]]:
    """One statement, under the session and user locks: the waitlists of the locked
    sessions in order (with their students), each session's confirmed count, the
    sessions on whose waitlists `student_id` sits (open ones elsewhere included, for
    `_promotable_under_locks`), and the booking `booking_id` if given.

    Returns that booking, the waitlists and the counts by session, and those sessions.
    Precondition: the sessions are locked, and so are the users whose balances will be
    read from the waitlists' students (READ COMMITTED: this statement runs after them).
    """
    confirmed = (
        Booking.objects.filter(session_id=OuterRef("session_id"), status=Booking.Status.CONFIRMED)
        .order_by()
        .values("session_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    wanted = Q(session_id__in=session_ids, status=Booking.Status.WAITLISTED) | Q(
        student_id=student_id,
        status=Booking.Status.WAITLISTED,
        session__status=Session.Status.SCHEDULED,
        session__date_start__gt=now,
    )
    if booking_id is not None:
        wanted |= Q(pk=booking_id)
    rows = (
        Booking.objects.filter(wanted)
        .annotate(session_confirmed=Coalesce(Subquery(confirmed), 0))
        .select_related("student")
        .order_by("created_at", "id")
    )
    booking = None
    waitlists: dict[int, list[Booking]] = {}
    counts: dict[int, int] = {}
    waiting_on: set[int] = set()
    for row in rows:
        counts[row.session_id] = row.session_confirmed
        if row.pk == booking_id:
            booking = row
        elif row.status == Booking.Status.WAITLISTED:
            waitlists.setdefault(row.session_id, []).append(row)
            if row.student_id == student_id:
                waiting_on.add(row.session_id)
    return booking, waitlists, counts, waiting_on


def _promotable_under_locks(
    waiting_on: set[int], sessions: dict[int, Session], now: datetime
) -> set[int]:
    """The open sessions among `waiting_on` (read by `_rows_under_locks`), each locked.

    `_promotable_sessions_locked`'s rule: the student's row is locked, so this read is
    complete; a session on it that was not locked up front rolls the transaction back
    to run again (`_retry_if_promotable_set_grew`)."""
    promotable = {s for s in waiting_on if s not in sessions or _open(sessions[s], now)}
    if not promotable <= set(sessions):
        raise _PromotableSetGrew
    return promotable


def _write_promotions(
    moves: dict[int, int],
    ledger: list[CreditTransaction],
    promoted: list[Booking],
    changed: list[Booking],
    now: datetime,
) -> None:
    """Write a transaction's credit moves and promotions in bulk: one UPDATE of the
    balances (with each promotion's charge), one INSERT of the ledger rows (`ledger`,
    then the charges) and one UPDATE of the bookings (`changed`, then those promoted)."""
    for promotion in promoted:
        if promotion.credits_charged:
            moves[promotion.student_id] = (
                moves.get(promotion.student_id, 0) - promotion.credits_charged
            )
            ledger.append(_charge_row(promotion))
    _move_balances(moves)
    if ledger:
        CreditTransaction.objects.bulk_create(ledger)
    bookings = [*changed, *promoted]
    for booking in bookings:
        booking.updated_at = now
    if bookings:
        Booking.objects.bulk_update(
            bookings, ["status", "cancelled_at", "credits_charged", "updated_at"]
        )


def _plan_promotions(
    session: Session, confirmed: int, waitlist: list[Booking], balances: dict[int, int]
) -> list[Booking]:
    """`promote_waitlist` worked out in memory, for a caller that writes every change of
    its transaction in bulk: confirm the oldest waitlisted bookings whose students can
    pay, while seats are free, taking each charge from `balances`.

    Precondition: `session` is locked and current, `confirmed` counted after its lock,
    and `balances` read under the locks of every student on `waitlist`."""
    if session.status == Session.Status.CANCELLED or session.has_started():
        return []
    free = session.capacity - confirmed
    promoted: list[Booking] = []
    cost = session.credit_cost
    for booking in waitlist:
        if free <= 0:
            break
        if cost and balances[booking.student_id] < cost:
            continue
        if cost:
            balances[booking.student_id] -= cost
        booking.status = Booking.Status.CONFIRMED
        booking.credits_charged = cost
        booking.balance_after = balances.get(booking.student_id, 0)
        promoted.append(booking)
        free -= 1
    return promoted


def _move_balances(moves: dict[int, int]) -> None:
    """Add each user's signed amount to their balance, in one UPDATE (a CASE per user).
    Precondition: the rows are locked and the amounts were checked against balances read
    under that lock; the CHECK constraint still refuses a negative balance."""
    moves = {user_id: amount for user_id, amount in moves.items() if amount}
    if not moves:
        return
    by_user = Case(
        *(When(pk=user_id, then=Value(amount)) for user_id, amount in moves.items()),
        default=Value(0),
        output_field=IntegerField(),
    )
    User.objects.filter(pk__in=moves).update(credit_balance=F("credit_balance") + by_user)


@_retry_if_promotable_set_grew
def cancel_booking(
    *, booking: Booking | int, by: User, visible_to: User | None = None
) -> CancellationResult:
    """Cancel a live booking; refund in full up to BOOKING_CANCELLATION_HOURS before
    the start, nothing later; a freed seat goes to the waitlist.

    `booking` is a Booking or its id. With `visible_to`, a booking that user may not see
    raises `Booking.DoesNotExist` (the API's 404), found in the statement that locks its
    session; one they see but may not cancel is refused with PermissionDenied (403).

    The refund may let the student leave another session's waitlist: those sessions
    are locked up front with this one, in ascending id. Every change is written in bulk:
    one UPDATE of the balances, one INSERT of the ledger rows, one UPDATE of the
    bookings (the cancelled one and those promoted).
    """
    booking_id = booking if isinstance(booking, int) else booking.pk
    if isinstance(booking, Booking) and not (by.is_staff or by.pk == booking.student_id):
        raise PermissionDenied("Only the student or staff may cancel this booking.")
    with service_transaction():
        now = timezone.now()
        sessions, session_id, student_id = _lock_for_cancel(booking_id, visible_to, now)
        if session_id is None or student_id is None or session_id not in sessions:
            if visible_to is not None:
                raise Booking.DoesNotExist
            raise Conflict("The session no longer exists.", code=SESSION_DELETED)
        if not (by.is_staff or by.pk == student_id):
            raise PermissionDenied("Only the student or staff may cancel this booking.")
        session = sessions[session_id]
        others = set(sessions) - {session_id}
        now = timezone.now()
        refund_possible = now <= refund_deadline(session)
        balances = _lock_users_for_cancel(
            booking_id, student_id, session_id, others, refund_possible
        )
        booking, waitlists, confirmed, waiting_on = _rows_under_locks(
            set(sessions), student_id, now, booking_id
        )
        if booking is None:  # Bookings are never deleted; a session with bookings neither.
            raise Conflict("The session no longer exists.", code=SESSION_DELETED)
        if booking.status == Booking.Status.CANCELLED:
            raise Conflict("The booking is already cancelled.", code=ALREADY_CANCELLED)
        # All its representation shows, held before the commit (a cancelled booking
        # has no waitlist place).
        booking.session, booking.waitlist_position = session, None
        if session.has_started(now):
            raise Conflict("The session has already started.", code=SESSION_STARTED)
        was = booking.status
        refunded = cancellation_refund(booking, session, now)
        # Credits reaching the student may promote them where they wait.
        promotable = _promotable_under_locks(waiting_on, sessions, now) if refunded else set()
        moves = {student_id: refunded}
        ledger = []
        if refunded:
            balances[student_id] += refunded
            ledger.append(
                CreditTransaction(
                    user_id=student_id,
                    amount=refunded,
                    kind=CreditTransaction.Kind.REFUND,
                    booking=booking,
                    note="Cancelled in time: full refund",
                    created_by=by,
                )
            )
        booking.status = Booking.Status.CANCELLED
        booking.cancelled_at = now
        promoted: list[Booking] = []
        if was == Booking.Status.CONFIRMED:
            # The count still includes the booking being cancelled.
            promoted += _plan_promotions(
                session, confirmed[session_id] - 1, waitlists.get(session_id, []), balances
            )
        for other in sorted(promotable - {session_id}):
            promoted += _plan_promotions(
                sessions[other], confirmed.get(other, 0), waitlists.get(other, []), balances
            )
        _write_promotions(moves, ledger, promoted, [booking], now)
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


def _open(session: Session, now: datetime) -> bool:
    return session.status == Session.Status.SCHEDULED and session.date_start > now


@dataclass(frozen=True)
class SessionCancellationResult:
    session: Session
    bookings_cancelled: int
    credits_refunded: int


@_retry_if_promotable_set_grew
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
            raise Conflict("The session no longer exists.", code=SESSION_DELETED)
        locked = sessions[session.pk]
        if locked.status == Session.Status.CANCELLED:
            raise Conflict("The session is already cancelled.", code=SESSION_CANCELLED)
        open_bookings = list(
            Booking.objects.live().filter(session=locked).select_for_update().order_by("pk")
        )
        refunded_students = {
            b.student_id
            for b in open_bookings
            if b.status == Booking.Status.CONFIRMED and b.credits_charged > 0
        }
        # The payers were read before the lock: their other sessions are checked again
        # under the locks, and the whole transaction runs again if one was missed.
        _lock_users(refunded_students | _waitlisted_students(set(sessions) - {locked.pk}))
        promotable = _promotable_sessions_locked(refunded_students, sessions)
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
            booking.save(update_fields=["status", "cancelled_at", "updated_at"])
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
        promoted = _promote_after_refunds(sessions, promotable, skip=locked.pk)
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


def _check_credit_change(
    *, student: User, amount: int, note: str, signed: bool, meaning: str
) -> dict[str, str]:
    """The field errors of a grant or (`signed`) an adjustment: a student, an amount of
    1 to MAX_GRANT credits (either sign for an adjustment), a note that fits the ledger."""
    errors = {}
    if not student.is_student:
        errors["student"] = "Credits are granted to students only."
    size = abs(amount) if signed and isinstance(amount, int) else amount
    if not isinstance(amount, int) or not 1 <= size <= MAX_GRANT:
        errors["amount"] = meaning
    if len(note) > NOTE_MAX_LENGTH:
        errors["note"] = f"A note has at most {NOTE_MAX_LENGTH} characters."
    return errors


def _add_credits(
    *, student: User, amount: int, kind: str, note: str, by: User
) -> tuple[CreditTransaction, list[Booking]]:
    """Credit a student with a ledger row and promote the waitlists the credits now pay for.

    The grant's path, shared by positive adjustments; a cancellation's refund promotes
    the same way. Precondition: inside service_transaction(). The student's promotable
    sessions are locked first (one statement), then the users concerned, in the
    protocol's order; one read under the locks gives the waitlists, their confirmed
    counts and the student's waitlists; the credit, the promotions' charges, the ledger
    rows and the promoted bookings are written in bulk (`_write_promotions`).
    """
    now = timezone.now()
    sessions = _lock_promotable_sessions(student.pk, now)
    balances = _lock_users({student.pk}, waiting_on=set(sessions))
    _, waitlists, confirmed, waiting_on = _rows_under_locks(set(sessions), student.pk, now)
    promotable = _promotable_under_locks(waiting_on, sessions, now)
    balances[student.pk] += amount
    entry = CreditTransaction(user=student, amount=amount, kind=kind, note=note, created_by=by)
    promoted: list[Booking] = []
    for session_id in sorted(promotable):
        promoted += _plan_promotions(
            sessions[session_id], confirmed.get(session_id, 0), waitlists[session_id], balances
        )
    _write_promotions({student.pk: amount}, [entry], promoted, [], now)
    return entry, promoted


def _lock_promotable_sessions(student_id: int, now: datetime) -> dict[int, Session]:
    """Lock, in ascending id and in one statement, the open sessions on whose waitlists
    the student sits (credits reaching them may promote them there). The waitlists are
    read as the statement starts, as a read before the lock would be: the caller reads
    them again under the locks (`_promotable_under_locks`)."""
    waiting_on = Booking.objects.filter(
        student_id=student_id,
        status=Booking.Status.WAITLISTED,
        session__status=Session.Status.SCHEDULED,
        session__date_start__gt=now,
    ).values("session_id")
    rows = Session.objects.filter(pk__in=waiting_on).order_by("pk").select_for_update()
    return {session.pk: session for session in rows}


def _record_credit_change(
    verb: str, entry: CreditTransaction, promoted: list[Booking], *, by: User
) -> None:
    """The grant's or adjustment's activity and the promotions it paid for, in one INSERT."""
    change = build(
        actor=by,
        verb=verb,
        target=entry,
        student_id=entry.user_id,
        amount=entry.amount,
        note=entry.note,
    )
    record_many([change, *promotion_activities(promoted)])


@_retry_if_promotable_set_grew
def grant_credits(*, student: User, amount: int, note: str = "", by: User) -> CreditTransaction:
    """Add credits to a student's balance with a ledger row (staff only).

    The credits may let the student leave waitlists of sessions with a free seat:
    those are promoted in the same transaction (their sessions locked first).
    """
    if not by.is_staff:
        raise PermissionDenied("Only staff may grant credits.")
    errors = _check_credit_change(
        student=student,
        amount=amount,
        note=note,
        signed=False,
        meaning=f"A grant is between 1 and {MAX_GRANT} credits.",
    )
    if errors:
        raise ValidationError(errors)
    with service_transaction():
        entry, promoted = _add_credits(
            student=student, amount=amount, kind=CreditTransaction.Kind.GRANT, note=note, by=by
        )
        _record_credit_change(verbs.CREDITS_GRANTED, entry, promoted, by=by)
    return entry


@_retry_if_promotable_set_grew
def adjust_credits(*, student: User, amount: int, note: str, by: User) -> CreditTransaction:
    """Correct a student's balance by a signed amount, with an `adjustment` ledger row
    (staff only). The note says why; it is required.

    A debit never takes the balance below zero: it is one conditional F() update,
    refused with `insufficient_credits` when the balance does not cover it (no other
    row needs a lock: a lower balance promotes nobody). A credit takes the grant's
    path (`_add_credits`), promoting the waitlists it now pays for.
    """
    if not by.is_staff:
        raise PermissionDenied("Only staff may adjust credits.")
    errors = _check_credit_change(
        student=student,
        amount=amount,
        note=note,
        signed=True,
        meaning=f"An adjustment is between -{MAX_GRANT} and {MAX_GRANT} credits, not 0.",
    )
    if not note.strip():
        errors.setdefault("note", "Say why the balance is corrected.")
    if errors:
        raise ValidationError(errors)
    kind = CreditTransaction.Kind.ADJUSTMENT
    with service_transaction():
        promoted: list[Booking] = []
        if amount > 0:
            entry, promoted = _add_credits(
                student=student, amount=amount, kind=kind, note=note, by=by
            )
        else:
            if not _debit(student.pk, -amount):
                raise Conflict(
                    f"Taking {-amount} credits would leave {student.display_name} "
                    "with a negative balance.",
                    code=INSUFFICIENT_CREDITS,
                )
            entry = CreditTransaction.objects.create(
                user=student, amount=amount, kind=kind, note=note, created_by=by
            )
        _record_credit_change(verbs.CREDITS_ADJUSTED, entry, promoted, by=by)
    return entry
