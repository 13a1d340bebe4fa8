"""SPEC §3 booking rules, one table row per case, through the services only."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import User
from accounts.tests.factories import InstructorFactory, StaffFactory, StudentFactory
from activity.models import Activity
from bookings import services
from bookings.integrity import check_integrity
from bookings.models import Booking, CreditTransaction
from bookings.services import (
    MAX_GRANT,
    book_session,
    cancel_booking,
    cancel_session,
    grant_credits,
    promote_waitlist,
    session_update,
)
from bookings.tests.factories import BookingFactory, CreditGrantFactory
from config.errors import Conflict, PermissionDenied
from scheduling.models import Session
from scheduling.tests.factories import (
    GroupFactory,
    PastSessionFactory,
    SessionFactory,
    SpecializationFactory,
)

pytestmark = pytest.mark.django_db


def balance(user: User) -> int:
    return User.objects.values_list("credit_balance", flat=True).get(pk=user.pk)


def ledger(user: User) -> list[tuple[str, int, int | None]]:
    return list(
        CreditTransaction.objects.filter(user=user)
        .order_by("id")
        .values_list("kind", "amount", "booking_id")
    )


def statuses(*bookings: Booking) -> list[str]:
    by_id = dict(
        Booking.objects.filter(pk__in=[b.pk for b in bookings]).values_list("pk", "status")
    )
    return [by_id[b.pk] for b in bookings]


def full_session(funded_student, *, capacity: int = 1, cost: int = 1, **fields) -> Session:
    session = SessionFactory(capacity=capacity, credit_cost=cost, **fields)
    for _ in range(capacity):
        student = funded_student(cost)
        book_session(student=student, session=session, by=student)
    return session


def waitlist(funded_student, session: Session, credits: list[int]) -> list[Booking]:
    """Waitlist one student per entry; each keeps `credits` after joining.

    A student must be able to pay to join a waitlist, so one who should be unable
    to pay later joins with the cost and then spends it on another session.
    """
    bookings = []
    for keep in credits:
        student = funded_student(max(keep, session.credit_cost))
        bookings.append(book_session(student=student, session=session, by=student))
        spend = max(keep, session.credit_cost) - keep
        if spend:
            elsewhere = SessionFactory(semester=session.semester, credit_cost=spend)
            book_session(student=student, session=elsewhere, by=student)
    assert {b.status for b in bookings} <= {Booking.Status.WAITLISTED}
    return bookings


# --- Booking -----------------------------------------------------------------------------

ELIGIBILITY = [
    # group, member, target, mixed, student specialization, eligible
    ("none", False, "none", False, "own", True),
    ("group", True, "none", False, "own", True),
    ("group", False, "none", False, "own", False),
    ("none", False, "own", False, "own", True),
    ("none", False, "other", False, "own", False),
    ("none", False, "other", True, "own", True),
    ("none", False, "other", False, "no", False),
    ("none", False, "other", True, "no", True),
    ("group", True, "other", True, "own", True),
    ("group", False, "own", False, "own", False),
]


@pytest.mark.parametrize(
    ("group", "member", "target", "mixed", "specialization", "eligible"), ELIGIBILITY
)
def test_eligibility(funded_student, group, member, target, mixed, specialization, eligible):
    own, other = SpecializationFactory(), SpecializationFactory()
    student = funded_student(5, specialization=own if specialization == "own" else None)
    session = SessionFactory(
        target_specialization={"none": None, "own": own, "other": other}[target],
        mixed_specialization=mixed,
    )
    if group == "group":
        session.group = GroupFactory(semester=session.semester, members=[student] if member else [])
        session.save()

    if eligible:
        booking = book_session(student=student, session=session, by=student)
        assert booking.status == Booking.Status.CONFIRMED
    else:
        with pytest.raises(Conflict) as refused:
            book_session(student=student, session=session, by=student)
        assert refused.value.code == "not_eligible"
        assert not Booking.objects.exists()
        assert balance(student) == 5


REFUSALS = [
    # case, make the session, fill it first, the student's credits, expected code
    ("started", lambda: PastSessionFactory(), False, 5, "session_started"),
    ("cancelled", lambda: SessionFactory(status="cancelled"), False, 5, "session_cancelled"),
    ("no credits", lambda: SessionFactory(credit_cost=2), False, 1, "insufficient_credits"),
    ("none at all", lambda: SessionFactory(credit_cost=1), False, 0, "insufficient_credits"),
    (
        "waitlist, no credits",
        lambda: SessionFactory(capacity=1, credit_cost=2),
        True,
        1,
        "insufficient_credits",
    ),
]


@pytest.mark.parametrize(
    ("make_session", "fill", "credits", "code"),
    [row[1:] for row in REFUSALS],
    ids=[row[0] for row in REFUSALS],
)
def test_refusals_write_nothing(funded_student, make_session, fill, credits, code):
    session = make_session()
    if fill:
        holder = funded_student(session.credit_cost)
        book_session(student=holder, session=session, by=holder)
    student = funded_student(credits)
    bookings_before = Booking.objects.count()
    ledger_before = ledger(student)

    with pytest.raises(Conflict) as refused:
        book_session(student=student, session=session, by=student)

    assert refused.value.code == code
    assert Booking.objects.count() == bookings_before
    assert ledger(student) == ledger_before
    assert balance(student) == credits


def test_already_booked_is_refused_also_when_waitlisted(funded_student):
    session = full_session(funded_student)
    student = funded_student(3)
    first = book_session(student=student, session=session, by=student)
    assert first.status == Booking.Status.WAITLISTED

    with pytest.raises(Conflict) as refused:
        book_session(student=student, session=session, by=student)

    assert refused.value.code == "already_booked"
    assert Booking.objects.filter(student=student).count() == 1


def test_rebooking_after_a_cancellation_is_allowed(funded_student):
    session = SessionFactory()
    student = funded_student(3)
    cancel_booking(booking=book_session(student=student, session=session, by=student), by=student)
    again = book_session(student=student, session=session, by=student)
    assert again.status == Booking.Status.CONFIRMED
    assert check_integrity() == []


@pytest.mark.parametrize("cost", [0, 1, 3])
def test_a_free_seat_confirms_and_charges_with_a_ledger_row(funded_student, cost):
    session = SessionFactory(credit_cost=cost, capacity=2)
    student = funded_student(5)

    booking = book_session(student=student, session=session, by=student)

    booking.refresh_from_db()
    assert (booking.status, booking.credits_charged) == (Booking.Status.CONFIRMED, cost)
    assert balance(student) == 5 - cost
    charges = [("booking", -cost, booking.pk)] if cost else []
    assert ledger(student) == [("grant", 5, None), *charges]
    notes = CreditTransaction.objects.filter(booking=booking).values_list("note", flat=True)
    assert list(notes) == ([f"Booking of session {session.pk}"] if cost else [])


def test_a_full_session_waitlists_without_charging(funded_student):
    session = full_session(funded_student, capacity=2, cost=2)
    student = funded_student(2)

    booking = book_session(student=student, session=session, by=student)

    booking.refresh_from_db()
    assert (booking.status, booking.credits_charged) == (Booking.Status.WAITLISTED, 0)
    assert balance(student) == 2
    assert ledger(student) == [("grant", 2, None)]


@pytest.mark.parametrize(
    ("actor", "allowed"), [("self", True), ("staff", True), ("other student", False)]
)
def test_who_may_book_for_a_student(funded_student, staff, actor, allowed):
    student = funded_student(2)
    by = {"self": student, "staff": staff, "other student": StudentFactory()}[actor]
    session = SessionFactory()
    if allowed:
        assert book_session(student=student, session=session, by=by).status == "confirmed"
    else:
        with pytest.raises(PermissionDenied):
            book_session(student=student, session=session, by=by)
        assert not Booking.objects.exists()


def test_instructors_cannot_book(staff):
    instructor = InstructorFactory()
    with pytest.raises(Conflict) as refused:
        book_session(student=instructor, session=SessionFactory(), by=staff)
    assert refused.value.code == "not_eligible"


def test_a_deleted_session_is_a_conflict_not_a_crash(funded_student):
    session = SessionFactory()
    student = funded_student(2)
    Session.objects.filter(pk=session.pk).delete()
    with pytest.raises(Conflict) as refused:
        book_session(student=student, session=session, by=student)
    assert (refused.value.code, refused.value.message) == (
        "session_deleted",
        "The session no longer exists.",
    )


# --- Cancelling a booking ----------------------------------------------------------------

HOUR = timedelta(hours=1)
SECOND = timedelta(seconds=1)


@pytest.mark.parametrize(
    ("hours_setting", "before_start", "refunded"),
    [
        (24, 72 * HOUR, True),
        (24, 24 * HOUR, True),  # exactly the limit: "at least" includes it
        (24, 24 * HOUR - SECOND, False),
        (24, 2 * HOUR, False),
        (2, 2 * HOUR, True),
        (2, 2 * HOUR - SECOND, False),
    ],
)
def test_refund_depends_on_the_cancellation_deadline(
    funded_student, settings, monkeypatch, hours_setting, before_start, refunded
):
    settings.BOOKING_CANCELLATION_HOURS = hours_setting
    now = timezone.now().replace(microsecond=0)
    session = SessionFactory(date_start=now + before_start, credit_cost=3)
    student = funded_student(5)
    booking = book_session(student=student, session=session, by=student)
    monkeypatch.setattr(services.timezone, "now", lambda: now)

    result = cancel_booking(booking=booking, by=student)

    assert result.credits_refunded == (3 if refunded else 0)
    assert balance(student) == (5 if refunded else 2)
    refunds = [row for row in ledger(student) if row[0] == "refund"]
    assert refunds == ([("refund", 3, booking.pk)] if refunded else [])
    assert statuses(booking) == ["cancelled"]


def test_cancelling_a_waitlisted_booking_refunds_nothing_and_promotes_nobody(funded_student):
    session = full_session(funded_student)
    first, second = waitlist(funded_student, session, [1, 1])

    result = cancel_booking(booking=first, by=first.student)

    assert (result.credits_refunded, result.promoted) == (0, [])
    assert statuses(first, second) == ["cancelled", "waitlisted"]
    assert check_integrity() == []


@pytest.mark.parametrize(
    ("case", "code"), [("twice", "already_cancelled"), ("started", "session_started")]
)
def test_cancellation_refusals(funded_student, case, code):
    student = funded_student(2)
    session = SessionFactory()
    booking = book_session(student=student, session=session, by=student)
    if case == "twice":
        cancel_booking(booking=booking, by=student)
    else:
        Session.objects.filter(pk=session.pk).update(
            date_start=timezone.now() - HOUR, date_end=timezone.now() + HOUR
        )
    ledger_before = ledger(student)

    with pytest.raises(Conflict) as refused:
        cancel_booking(booking=booking, by=student)

    assert refused.value.code == code
    assert ledger(student) == ledger_before


@pytest.mark.parametrize(
    ("actor", "allowed"), [("student", True), ("staff", True), ("other", False)]
)
def test_who_may_cancel(funded_student, staff, actor, allowed):
    student = funded_student(2)
    booking = book_session(student=student, session=SessionFactory(), by=student)
    by = {"student": student, "staff": staff, "other": StudentFactory()}[actor]
    if allowed:
        assert cancel_booking(booking=booking, by=by).credits_refunded == 1
    else:
        with pytest.raises(PermissionDenied):
            cancel_booking(booking=booking, by=by)
        assert statuses(booking) == ["confirmed"]


# --- Promotion ---------------------------------------------------------------------------


def test_a_freed_seat_goes_to_the_oldest_waitlisted_student_who_can_pay(funded_student):
    session = full_session(funded_student, cost=2)
    holder = Booking.objects.get(session=session)
    broke, payer, later = waitlist(funded_student, session, [1, 2, 2])

    result = cancel_booking(booking=holder, by=holder.student)

    assert [b.pk for b in result.promoted] == [payer.pk]
    assert statuses(broke, payer, later) == ["waitlisted", "confirmed", "waitlisted"]
    assert balance(payer.student) == 0
    assert ledger(payer.student)[-1] == ("booking", -2, payer.pk)
    assert Booking.objects.get(pk=payer.pk).credits_charged == 2
    assert balance(broke.student) == 1
    assert check_integrity() == []


def test_a_cancellation_promotes_into_the_freed_seat_and_where_the_refund_now_pays(
    funded_student,
):
    """The freed seat and the refund's promotions are planned together: the refund is
    spent once, on the lower session id, and each balance_after is what is left then."""
    session_a = SessionFactory(capacity=1, credit_cost=1)
    session_b = full_session(funded_student, cost=2)
    session_c = full_session(funded_student, cost=2)
    holder = funded_student(3)
    held = book_session(student=holder, session=session_a, by=holder)
    on_b = book_session(student=holder, session=session_b, by=holder)
    on_c = book_session(student=holder, session=session_c, by=holder)
    (waiting,) = waitlist(funded_student, session_a, [1])
    book_session(student=holder, session=SessionFactory(credit_cost=1), by=holder)
    for full in (session_b, session_c):  # seats free up that nobody waiting can pay for
        first = Booking.objects.get(session=full, status="confirmed")
        cancel_booking(booking=first, by=first.student)
    assert (balance(holder), statuses(on_b, on_c)) == (1, ["waitlisted", "waitlisted"])

    result = cancel_booking(booking=held, by=holder)

    assert result.credits_refunded == 1
    assert [b.pk for b in result.promoted] == [waiting.pk, on_b.pk]
    assert [b.balance_after for b in result.promoted] == [0, 0]
    assert statuses(held, waiting, on_b, on_c) == [
        "cancelled",
        "confirmed",
        "confirmed",
        "waitlisted",
    ]
    assert (balance(holder), balance(waiting.student)) == (0, 0)
    assert ledger(holder)[-2:] == [("refund", 1, held.pk), ("booking", -2, on_b.pk)]
    assert check_integrity() == []


@pytest.mark.parametrize(
    ("created_offsets", "winner"),
    [
        ((0, 0, 0), 0),  # same created_at: the lowest id first
        ((5, 0, 5), 1),  # created_at decides before the id
        ((5, 5, 1), 2),
    ],
)
def test_waitlist_order_is_created_at_then_id(funded_student, created_offsets, winner):
    session = full_session(funded_student)
    holder = Booking.objects.get(session=session)
    waiting = waitlist(funded_student, session, [1, 1, 1])
    base = timezone.now()
    for booking, offset in zip(waiting, created_offsets, strict=True):
        Booking.objects.filter(pk=booking.pk).update(created_at=base + timedelta(seconds=offset))

    result = cancel_booking(booking=holder, by=holder.student)

    assert [b.pk for b in result.promoted] == [waiting[winner].pk]


def test_no_promotion_once_the_session_has_started(funded_student):
    session = PastSessionFactory(capacity=1)
    BookingFactory(session=session)
    waiting = BookingFactory(session=session, status="waitlisted")
    CreditGrantFactory(user=waiting.student, amount=5)

    session_update(session=session, by=session.semester.master_instructor, capacity=3)

    assert statuses(waiting) == ["waitlisted"]
    assert balance(waiting.student) == 5


def test_no_promotion_on_a_cancelled_session(funded_student):
    session = SessionFactory(capacity=2, status="cancelled")
    waiting = BookingFactory(session=session, status="waitlisted")
    CreditGrantFactory(user=waiting.student, amount=5)

    with transaction.atomic():
        assert promote_waitlist(Session.objects.select_for_update().get(pk=session.pk)) == []

    assert statuses(waiting) == ["waitlisted"]


@pytest.mark.parametrize(
    ("old", "new", "promoted"),
    [(1, 2, [1]), (1, 3, [1, 2]), (1, 4, [1, 2, 3]), (1, 9, [1, 2, 3]), (2, 3, [1])],
)
def test_raising_capacity_promotes_payers_in_order(funded_student, old, new, promoted):
    session = full_session(funded_student, capacity=old)
    # The first waitlisted student cannot pay: skipped, stays waitlisted.
    waiting = waitlist(funded_student, session, [0, 1, 1, 1])
    session.refresh_from_db()

    session_update(session=session, by=session.semester.master_instructor, capacity=new)

    expected = ["confirmed" if i in promoted else "waitlisted" for i in range(len(waiting))]
    assert statuses(*waiting) == expected
    assert [balance(b.student) for b in waiting] == [0] + [
        0 if i in promoted else 1 for i in (1, 2, 3)
    ]
    assert check_integrity() == []


@pytest.mark.parametrize("waiting_count", [1, 8])
def test_raising_capacity_promotes_at_a_constant_cost_and_records_each_balance(
    funded_student, django_assert_num_queries, waiting_count
):
    """One more seat promotes the first payer whatever the waitlist's length, and the
    `booking.promoted` activity says what the student has left (webhooks and emails
    read it). The count also guards the locked read of the session: a field left out
    of it would be loaded again, one query more."""
    session = full_session(funded_student, capacity=1, cost=2)
    waiting = waitlist(funded_student, session, [5] * waiting_count)
    session.refresh_from_db()
    master = session.semester.master_instructor

    # lock the session; its edit (UPDATE); confirmed count; the locked re-read with the
    # seat count; the waitlist; lock the waiting students; then for the promoted one:
    # debit, ledger row, booking UPDATE; one INSERT of the activities, one of the tasks.
    with django_assert_num_queries(TRANSACTION + 11):
        session_update(session=session, by=master, capacity=2)

    assert statuses(*waiting) == ["confirmed"] + ["waitlisted"] * (waiting_count - 1)
    promoted = Activity.objects.filter(verb="booking.promoted")
    assert [(a.student_id, a.data) for a in promoted] == [
        (waiting[0].student_id, {"credits_charged": 2, "balance_after": 3})
    ]
    assert check_integrity() == []


@pytest.mark.parametrize("waiting_count", [0, 6])
def test_an_edit_that_frees_no_seat_reads_no_waitlist(
    funded_student, django_assert_num_queries, waiting_count
):
    """Only a higher capacity or a lower cost can promote: a new title, or the same
    capacity and cost given again, costs the same queries however long the waitlist."""
    session = full_session(funded_student, capacity=1, cost=2)
    waitlist(funded_student, session, [5] * waiting_count)
    session.refresh_from_db()
    master = session.semester.master_instructor

    # lock the session; its edit; the confirmed count; one INSERT of the activity.
    with django_assert_num_queries(TRANSACTION + 4):
        session_update(session=session, by=master, title="Renamed", capacity=1, credit_cost=2)


def test_lowering_the_cost_promotes_students_who_can_now_pay(funded_student):
    session = full_session(funded_student, capacity=1, cost=3)
    (waiting,) = waitlist(funded_student, session, [1])
    holder = Booking.objects.get(session=session, status="confirmed")
    cancel_booking(booking=holder, by=holder.student)
    assert statuses(waiting) == ["waitlisted"]  # a free seat, but 1 credit for a cost of 3

    session.refresh_from_db()
    session_update(session=session, by=session.semester.master_instructor, credit_cost=1)

    assert statuses(waiting) == ["confirmed"]
    assert check_integrity() == []


@pytest.mark.parametrize(
    ("confirmed", "new", "allowed"), [(3, 2, False), (3, 1, False), (3, 3, True)]
)
def test_capacity_cannot_drop_below_the_confirmed_count(funded_student, confirmed, new, allowed):
    session = full_session(funded_student, capacity=confirmed)
    session.refresh_from_db()
    if allowed:
        session_update(session=session, by=session.semester.master_instructor, capacity=new)
    else:
        with pytest.raises(Conflict) as refused:
            session_update(session=session, by=session.semester.master_instructor, capacity=new)
        assert refused.value.code == "capacity_below_confirmed"
    assert Session.objects.get(pk=session.pk).capacity == (new if allowed else confirmed)


# --- Credits reaching a waitlisted student ----------------------------------------------


@pytest.mark.parametrize("frees_the_seat", ["a cancellation", "a capacity raise"])
def test_waiters_who_joined_at_the_same_instant_are_promoted_in_id_order(
    funded_student, frees_the_seat
):
    """`created_at` ties break on the id. The later id is written first, so that a
    table read in storage order (PostgreSQL's) would put it first without the tie-break."""
    session = full_session(funded_student, cost=1)
    later = BookingFactory(pk=900_002, session=session, status="waitlisted")
    earlier = BookingFactory(pk=900_001, session=session, status="waitlisted")
    for booking in (later, earlier):
        CreditGrantFactory(user=booking.student, amount=1)
    Booking.objects.filter(pk__in=[later.pk, earlier.pk]).update(created_at=timezone.now())
    holder = Booking.objects.get(session=session, status="confirmed")

    if frees_the_seat == "a cancellation":
        cancel_booking(booking=holder, by=holder.student)
    else:
        session.refresh_from_db()
        session_update(session=session, by=session.semester.master_instructor, capacity=2)

    assert statuses(earlier, later) == ["confirmed", "waitlisted"]


def test_a_new_seat_goes_to_the_waiter_who_joined_first_not_the_lower_id(funded_student):
    """The waitlist is ordered by when each joined; the id breaks only exact ties."""
    session = full_session(funded_student, cost=1)
    joined_later = BookingFactory(pk=900_001, session=session, status="waitlisted")
    joined_first = BookingFactory(pk=900_002, session=session, status="waitlisted")
    for booking in (joined_later, joined_first):
        CreditGrantFactory(user=booking.student, amount=1)
    now = timezone.now()
    Booking.objects.filter(pk=joined_first.pk).update(created_at=now - timedelta(minutes=1))
    Booking.objects.filter(pk=joined_later.pk).update(created_at=now)
    session.refresh_from_db()

    session_update(session=session, by=session.semester.master_instructor, capacity=2)

    assert statuses(joined_first, joined_later) == ["confirmed", "waitlisted"]


def test_a_grant_promotes_the_student_where_a_seat_is_free(funded_student, staff):
    session = full_session(funded_student, cost=2)
    (waiting,) = waitlist(funded_student, session, [0])
    holder = Booking.objects.get(session=session, status="confirmed")
    cancel_booking(booking=holder, by=holder.student)
    assert statuses(waiting) == ["waitlisted"]

    grant_credits(student=waiting.student, amount=2, by=staff)

    assert statuses(waiting) == ["confirmed"]
    assert balance(waiting.student) == 0
    assert check_integrity() == []


def test_a_grant_promotes_the_student_past_an_older_waiter_who_cannot_pay(funded_student, staff):
    """The grant reads the whole waitlist's balances under their locks: the older waiter
    is skipped because they cannot pay, and the granted student takes the seat."""
    session = full_session(funded_student, cost=2)
    older, waiting = waitlist(funded_student, session, [1, 0])
    holder = Booking.objects.get(session=session, status="confirmed")
    cancel_booking(booking=holder, by=holder.student)

    grant_credits(student=waiting.student, amount=2, by=staff)

    assert statuses(older, waiting) == ["waitlisted", "confirmed"]
    assert [balance(older.student), balance(waiting.student)] == [1, 0]
    assert check_integrity() == []


def test_a_grant_to_a_student_waiting_on_a_full_session_promotes_nobody(funded_student, staff):
    session = full_session(funded_student, cost=2)
    (waiting,) = waitlist(funded_student, session, [0])

    grant_credits(student=waiting.student, amount=2, by=staff)

    assert statuses(waiting) == ["waitlisted"]
    assert balance(waiting.student) == 2
    assert Booking.objects.filter(session=session, status="confirmed").count() == 1
    assert check_integrity() == []


def test_a_grant_adds_to_what_the_student_already_holds(funded_student, staff):
    """1 credit held and 1 granted pay for a seat of 2."""
    session = full_session(funded_student, cost=2)
    (waiting,) = waitlist(funded_student, session, [1])
    holder = Booking.objects.get(session=session, status="confirmed")
    cancel_booking(booking=holder, by=holder.student)

    grant_credits(student=waiting.student, amount=1, by=staff)

    assert statuses(waiting) == ["confirmed"]
    assert balance(waiting.student) == 0


def test_a_grant_promotes_the_student_on_every_waitlist_it_now_pays_for(funded_student, staff):
    sessions = [full_session(funded_student, cost=1) for _ in range(2)]
    student = funded_student(2)
    waiting = [book_session(student=student, session=s, by=student) for s in sessions]
    elsewhere = SessionFactory(semester=sessions[0].semester, credit_cost=2)
    book_session(student=student, session=elsewhere, by=student)  # the balance is now 0
    for session in sessions:
        holder = Booking.objects.get(session=session, status="confirmed")
        cancel_booking(booking=holder, by=holder.student)
    assert statuses(*waiting) == ["waitlisted", "waitlisted"]

    grant_credits(student=student, amount=2, by=staff)

    assert statuses(*waiting) == ["confirmed", "confirmed"]
    assert balance(student) == 0
    promoted = Activity.objects.filter(verb="booking.promoted", student=student)
    assert sorted(promoted.values_list("target_id", flat=True)) == sorted(b.pk for b in waiting)
    assert check_integrity() == []


def test_a_refund_promotes_the_student_on_another_waitlist(funded_student):
    wanted = full_session(funded_student, cost=2)
    (waiting,) = waitlist(funded_student, wanted, [0])
    holder = Booking.objects.get(session=wanted, status="confirmed")
    cancel_booking(booking=holder, by=holder.student)
    # The waitlisted student's 2 credits sit in another booking; cancelling it in time
    # refunds them, and they go to the seat they were waiting for.
    elsewhere = Booking.objects.get(student=waiting.student, status="confirmed")

    result = cancel_booking(booking=elsewhere, by=waiting.student)

    assert [b.pk for b in result.promoted] == [waiting.pk]
    assert statuses(elsewhere, waiting) == ["cancelled", "confirmed"]
    assert check_integrity() == []


def test_a_one_credit_refund_promotes_the_student_past_an_older_waiter_who_cannot_pay(
    funded_student,
):
    """The older waiter's balance is read (and locked) with the refunded student's,
    even when the refund is a single credit: they are skipped because they cannot pay,
    not because their balance was never read."""
    wanted = full_session(funded_student, cost=1)
    older, waiting = waitlist(funded_student, wanted, [0, 0])
    holder = Booking.objects.get(session=wanted, status="confirmed")
    cancel_booking(booking=holder, by=holder.student)
    assert statuses(older, waiting) == ["waitlisted", "waitlisted"]
    elsewhere = Booking.objects.get(student=waiting.student, status="confirmed")

    result = cancel_booking(booking=elsewhere, by=waiting.student)

    assert (result.credits_refunded, [b.pk for b in result.promoted]) == (1, [waiting.pk])
    assert statuses(older, waiting) == ["waitlisted", "confirmed"]
    assert [balance(older.student), balance(waiting.student)] == [0, 0]
    assert check_integrity() == []


# --- Cancelling a session ----------------------------------------------------------------


@pytest.mark.parametrize("starts_in", [3 * 24 * HOUR, 2 * HOUR])
def test_cancelling_a_session_refunds_every_confirmed_booking_in_full(funded_student, starts_in):
    session = SessionFactory(capacity=2, credit_cost=3, date_start=timezone.now() + starts_in)
    session.date_end = session.date_start + HOUR
    session.save()
    confirmed = [funded_student(3), funded_student(4)]
    for student in confirmed:
        book_session(student=student, session=session, by=student)
    (waiting,) = waitlist(funded_student, session, [3])
    session.refresh_from_db()
    # The cost changes after booking: the refund is what each booking was charged.
    session_update(session=session, by=session.semester.master_instructor, credit_cost=1)

    result = cancel_session(session=session, by=session.semester.master_instructor)

    assert (result.bookings_cancelled, result.credits_refunded) == (3, 6)
    assert Session.objects.get(pk=session.pk).status == "cancelled"
    assert not Booking.objects.live().filter(session=session).exists()
    assert [balance(s) for s in confirmed] == [3, 4]
    assert balance(waiting.student) == 3
    assert CreditTransaction.objects.filter(kind="refund").count() == 2
    assert check_integrity() == []


def test_cancelling_a_session_is_atomic(funded_student, monkeypatch):
    session = SessionFactory(capacity=3)
    students = [funded_student(1) for _ in range(3)]
    for student in students:
        book_session(student=student, session=session, by=student)
    calls = []
    real_refund = services._refund

    def failing_refund(booking, **kwargs):
        calls.append(booking.pk)
        if len(calls) == 2:
            raise RuntimeError("the database went away")
        return real_refund(booking, **kwargs)

    monkeypatch.setattr(services, "_refund", failing_refund)

    with pytest.raises(RuntimeError):
        cancel_session(session=session, by=session.semester.master_instructor)

    assert Session.objects.get(pk=session.pk).status == "scheduled"
    assert Booking.objects.filter(session=session, status="confirmed").count() == 3
    assert [balance(s) for s in students] == [0, 0, 0]
    assert not CreditTransaction.objects.filter(kind="refund").exists()


def test_cancelling_a_session_refunds_promote_elsewhere(funded_student):
    wanted = full_session(funded_student, cost=1)
    (waiting,) = waitlist(funded_student, wanted, [0])
    holder = Booking.objects.get(session=wanted, status="confirmed")
    cancel_booking(booking=holder, by=holder.student)
    elsewhere = Booking.objects.get(student=waiting.student, status="confirmed").session

    cancel_session(session=elsewhere, by=elsewhere.semester.master_instructor)

    assert statuses(waiting) == ["confirmed"]
    assert check_integrity() == []


def test_cancelling_a_session_promotes_each_payer_where_they_wait(funded_student):
    """Two payers of the cancelled session wait on two other sessions whose seats they
    could not pay for: each refund promotes its student, and both promotions are recorded."""
    cancelled = SessionFactory(capacity=2, credit_cost=1)
    payers = [funded_student(1), funded_student(1)]
    wanted = []
    for payer in payers:
        session = full_session(funded_student, cost=1)
        book_session(student=payer, session=cancelled, by=payer)  # balance now 0
        grant_credits(student=payer, amount=1, by=StaffFactory())
        wanted.append(book_session(student=payer, session=session, by=payer))
        book_session(student=payer, session=SessionFactory(credit_cost=1), by=payer)
        holder = Booking.objects.get(session=session, status="confirmed")
        cancel_booking(booking=holder, by=holder.student)
    assert statuses(*wanted) == ["waitlisted", "waitlisted"]

    cancel_session(session=cancelled, by=cancelled.semester.master_instructor)

    assert statuses(*wanted) == ["confirmed", "confirmed"]
    promoted = Activity.objects.filter(verb="booking.promoted")
    assert sorted(promoted.values_list("target_id", flat=True)) == sorted(b.pk for b in wanted)
    assert check_integrity() == []


@pytest.mark.parametrize(("case", "error"), [("twice", Conflict), ("stranger", PermissionDenied)])
def test_cancel_session_refusals(case, error):
    session = SessionFactory()
    by = session.semester.master_instructor
    if case == "twice":
        cancel_session(session=session, by=by)
    else:
        by = InstructorFactory()
    with pytest.raises(error):
        cancel_session(session=session, by=by)


# --- Grants ------------------------------------------------------------------------------


def test_grant_moves_the_balance_with_a_ledger_row(staff):
    student = StudentFactory()
    entry = grant_credits(student=student, amount=7, note="Semester pack", by=staff)
    assert balance(student) == 7
    assert (entry.kind, entry.amount, entry.created_by, entry.note) == (
        "grant",
        7,
        staff,
        "Semester pack",
    )


BOUNDS = f"A grant is between 1 and {MAX_GRANT} credits."


@pytest.mark.parametrize(
    ("amount", "note", "to_student", "field", "message"),
    [
        (0, "", True, "amount", BOUNDS),
        (-3, "", True, "amount", BOUNDS),
        (MAX_GRANT + 1, "", True, "amount", BOUNDS),
        (5, "x" * 256, True, "note", "A note has at most 255 characters."),
        (5, "", False, "student", "Credits are granted to students only."),
    ],
)
def test_invalid_grants_are_refused(staff, amount, note, to_student, field, message):
    user = StudentFactory() if to_student else InstructorFactory()
    with pytest.raises(ValidationError) as refused:
        grant_credits(student=user, amount=amount, note=note, by=staff)
    assert refused.value.message_dict == {field: [message]}
    assert balance(user) == 0
    assert not CreditTransaction.objects.exists()


def test_the_largest_grant_with_the_longest_note_is_accepted(staff):
    student = StudentFactory()
    grant_credits(student=student, amount=MAX_GRANT, note="x" * 255, by=staff)
    assert balance(student) == MAX_GRANT


def test_only_staff_may_grant():
    student = StudentFactory()
    with pytest.raises(PermissionDenied):
        grant_credits(student=student, amount=5, by=InstructorFactory())
    assert balance(student) == 0


# --- Waitlist positions ------------------------------------------------------------------


def test_waitlist_positions_follow_the_queue(funded_student):
    session = full_session(funded_student)
    waiting = waitlist(funded_student, session, [1, 1, 1])
    cancel_booking(booking=waiting[0], by=waiting[0].student)
    other_session = full_session(funded_student)
    (elsewhere,) = waitlist(funded_student, other_session, [1])

    positions = dict(
        Booking.objects.with_waitlist_position().values_list("pk", "waitlist_position")
    )

    holder = Booking.objects.get(session=session, status="confirmed")
    assert positions[holder.pk] is None
    assert positions[waiting[0].pk] is None
    assert [positions[b.pk] for b in waiting[1:]] == [1, 2]
    assert positions[elsewhere.pk] == 1


@pytest.mark.parametrize("waiting_count", [1, 8])
def test_waitlist_positions_cost_one_query(
    funded_student, django_assert_num_queries, waiting_count
):
    session = full_session(funded_student)
    waitlist(funded_student, session, [1] * waiting_count)

    with django_assert_num_queries(1):
        rows = list(Booking.objects.filter(session=session).with_waitlist_position())

    assert sorted(b.waitlist_position or 0 for b in rows) == list(range(waiting_count + 1))


# --- Query budgets: constant whatever the number of bookings -----------------------------

# service_transaction: SAVEPOINT + RELEASE inside the test's transaction, plus on
# PostgreSQL the SET LOCAL lock_timeout.
TRANSACTION = 2 + (1 if connection.vendor == "postgresql" else 0)


@pytest.mark.parametrize("others", [0, 15])
def test_booking_costs_a_constant_number_of_queries(
    funded_student, django_assert_num_queries, others
):
    session = SessionFactory(capacity=40)
    for _ in range(others):
        student = funded_student(1)
        book_session(student=student, session=session, by=student)
    student = funded_student(1)

    # lock the session with the student's eligibility; count confirmed, waitlisted and the
    # student's live bookings; conditional debit, insert the booking (with its cost), ledger
    # row, the activity (which also asks whether a webhook endpoint is active: none), its
    # task rows (the email and the reminder's planning, one INSERT).
    with django_assert_num_queries(TRANSACTION + 7):
        book_session(student=student, session=session, by=student)


@pytest.mark.parametrize("waiting_count", [1, 10])
def test_cancelling_with_a_promotion_costs_a_constant_number_of_queries(
    funded_student, django_assert_num_queries, waiting_count
):
    session = full_session(funded_student)
    holder = Booking.objects.select_related("student").get(session=session)
    waitlist(funded_student, session, [1] * waiting_count)

    # lock the session (finding the booking) with those the student waits on; lock the
    # student and the waitlisted students; the booking, the waitlists, their confirmed
    # counts and the student's waitlists (one read); then in bulk: the balances (refund
    # and charge), the ledger rows, the bookings (cancelled, confirmed); one INSERT of the
    # booking.cancelled and booking.promoted activities; one INSERT of their task rows
    # (two emails, the promoted seat's reminder planning).
    with django_assert_num_queries(TRANSACTION + 8):
        result = cancel_booking(booking=holder, by=holder.student)
    assert len(result.promoted) == 1
