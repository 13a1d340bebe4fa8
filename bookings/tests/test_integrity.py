"""`check_integrity` finds each kind of corruption, written with raw SQL past the services."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from accounts.models import User
from bookings.integrity import check_integrity, nobody_waits_for_a_free_seat
from bookings.models import Booking, CreditTransaction
from bookings.services import book_session, cancel_booking
from bookings.tests.factories import BookingFactory, CreditGrantFactory
from scheduling.models import Session
from scheduling.tests.factories import SessionFactory

pytestmark = pytest.mark.django_db

USER = User._meta.db_table
BOOKING = Booking._meta.db_table
LEDGER = CreditTransaction._meta.db_table
SESSION = Session._meta.db_table


def sql(statement: str, params: list | None = None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params or [])


def insert_ledger_row(user_id: int, amount: int, kind: str, booking_id: int | None) -> int:
    """A ledger row together with the balance move, so only the intended rule breaks."""
    sql(
        f"INSERT INTO {LEDGER} (user_id, amount, kind, booking_id, note, created_at) "
        "VALUES (%s, %s, %s, %s, 'raw', %s)",
        [user_id, amount, kind, booking_id, timezone.now()],
    )
    sql(f"UPDATE {USER} SET credit_balance = credit_balance + %s WHERE id = %s", [amount, user_id])
    return CreditTransaction.objects.order_by("-id").values_list("pk", flat=True).first()


def found(findings) -> set[tuple[str, tuple[int, ...]]]:
    return {(finding.check, finding.ids) for finding in findings}


@pytest.fixture
def booked(funded_student):
    """A confirmed booking (charged 1), a cancelled and refunded one, a waitlisted one."""
    session = SessionFactory(capacity=2)
    first, second, third = funded_student(3), funded_student(3), funded_student(3)
    confirmed = book_session(student=first, session=session, by=first)
    cancelled = book_session(student=second, session=session, by=second)
    cancel_booking(booking=cancelled, by=second)
    book_session(student=second, session=session, by=second)
    waiting = book_session(student=third, session=session, by=third)
    assert waiting.status == "waitlisted"
    assert check_integrity() == []
    return {"session": session, "confirmed": confirmed, "cancelled": cancelled, "waiting": waiting}


def test_balance_out_of_step_with_the_ledger(booked):
    student = booked["confirmed"].student_id
    sql(f"UPDATE {USER} SET credit_balance = credit_balance + 5 WHERE id = %s", [student])
    assert found(check_integrity()) == {("balance_mismatch", (student,))}


def test_charge_that_does_not_match_the_booking(booked):
    booking = booked["confirmed"].pk
    sql(f"UPDATE {BOOKING} SET credits_charged = 2 WHERE id = %s", [booking])
    assert found(check_integrity()) == {("charge_mismatch", (booking,))}


def test_charge_on_an_uncharged_booking(booked):
    waiting = booked["waiting"]
    insert_ledger_row(waiting.student_id, -1, "booking", waiting.pk)
    assert found(check_integrity()) == {("charge_mismatch", (waiting.pk,))}


def test_missing_charge(booked):
    booking = booked["confirmed"]
    sql(f"DELETE FROM {LEDGER} WHERE booking_id = %s AND kind = 'booking'", [booking.pk])
    sql(
        f"UPDATE {USER} SET credit_balance = credit_balance + 1 WHERE id = %s", [booking.student_id]
    )
    assert found(check_integrity()) == {("charge_mismatch", (booking.pk,))}


def test_refund_on_a_live_booking(booked):
    booking = booked["confirmed"]
    refund = insert_ledger_row(booking.student_id, 1, "refund", booking.pk)
    assert found(check_integrity()) == {("refund_mismatch", (booking.pk, refund))}


def test_second_refund_of_a_booking(booked):
    booking = booked["cancelled"]
    first = CreditTransaction.objects.get(booking=booking, kind="refund").pk
    # The unique constraint refuses it; the check must find it all the same.
    with pytest.raises(IntegrityError), transaction.atomic():
        insert_ledger_row(booking.student_id, 1, "refund", booking.pk)
    sql("DROP INDEX credit_transaction_one_charge_and_refund_per_booking")
    second = insert_ledger_row(booking.student_id, 1, "refund", booking.pk)
    assert found(check_integrity()) == {("refund_mismatch", (booking.pk, first, second))}


def test_refund_of_more_than_was_charged(booked):
    booking = booked["cancelled"]
    refund = CreditTransaction.objects.get(booking=booking, kind="refund").pk
    sql(f"UPDATE {LEDGER} SET amount = 3 WHERE id = %s", [refund])
    sql(
        f"UPDATE {USER} SET credit_balance = credit_balance + 2 WHERE id = %s", [booking.student_id]
    )
    assert found(check_integrity()) == {("refund_mismatch", (booking.pk, refund))}


def test_overbooked_session(booked):
    session = booked["session"]
    sql(f"UPDATE {SESSION} SET capacity = 1 WHERE id = %s", [session.pk])
    assert found(check_integrity()) == {("overbooked", (session.pk,))}


@pytest.mark.parametrize(
    ("change", "reported"),
    [
        ("capacity = 3", True),
        ("capacity = 3, status = 'cancelled'", False),
        ("capacity = 3, credit_cost = 4", False),  # the student cannot pay: stays waitlisted
        ("capacity = 3, date_start = %s", False),  # started: nobody is promoted any more
    ],
)
def test_waitlisted_student_who_can_pay_while_a_seat_is_free(booked, change, reported):
    session, waiting = booked["session"], booked["waiting"]
    params = [timezone.now()] if "%s" in change else []
    sql(f"UPDATE {SESSION} SET {change} WHERE id = %s", [*params, session.pk])
    expected = {("waitlisted_with_free_seat", (waiting.pk, session.pk))} if reported else set()
    assert found(check_integrity()) == expected


def test_duplicate_live_booking(booked):
    booking = booked["confirmed"]
    duplicate = (
        f"INSERT INTO {BOOKING} "
        "(student_id, session_id, status, credits_charged, created_at, updated_at) "
        "VALUES (%s, %s, 'waitlisted', 0, %s, %s)"
    )
    params = [booking.student_id, booking.session_id, timezone.now(), timezone.now()]
    # The same student's live booking elsewhere is not part of the finding.
    book_session(student=booking.student, session=SessionFactory(), by=booking.student)
    # The database refuses it ...
    with pytest.raises(IntegrityError), transaction.atomic():
        sql(duplicate, params)
    # ... and without the constraint the check still finds it.
    sql("DROP INDEX booking_one_live_per_student_and_session")
    sql(duplicate, params)
    second = Booking.objects.order_by("-id").values_list("pk", flat=True).first()
    (finding,) = check_integrity()
    assert (finding.check, finding.ids) == ("duplicate_live_booking", (booking.pk, second))
    assert finding.message == (
        f"Student {booking.student_id} holds 2 live bookings {[booking.pk, second]} "
        f"on session {booking.session_id}."
    )


def test_every_finding_is_listed_and_the_command_fails(booked):
    session = booked["session"]
    sql(f"UPDATE {SESSION} SET capacity = 1 WHERE id = %s", [session.pk])
    student = booked["waiting"].student_id
    sql(f"UPDATE {USER} SET credit_balance = credit_balance + 5 WHERE id = %s", [student])
    out = StringIO()

    with pytest.raises(CommandError) as failed:
        call_command("check_integrity", stdout=out)

    assert failed.value.returncode == 1
    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    assert f"User {student} " in out.getvalue()
    assert f"Session {session.pk} " in out.getvalue()


def test_clean_demo_data_passes(booked):
    call_command("seed_demo", stdout=StringIO())
    out = StringIO()
    call_command("check_integrity", stdout=out)
    assert "no findings" in out.getvalue()


@pytest.mark.parametrize("sessions", [1, 6])
def test_the_checks_cost_one_query_each(funded_student, django_assert_num_queries, sessions):
    for _ in range(sessions):
        session = SessionFactory(capacity=1)
        for _ in range(2):
            student = funded_student(1)
            book_session(student=student, session=session, by=student)

    # One query per check; rows are only read again to name the ids of a finding.
    with django_assert_num_queries(6):
        assert check_integrity() == []


# From the mutation run (README, Mutation testing): the zero a check reads when a
# user has no ledger row, or a session no confirmed booking, was never reached.


def test_balance_of_a_user_without_any_ledger_row(funded_student):
    student = funded_student(0)
    sql(f"UPDATE {USER} SET credit_balance = 5 WHERE id = %s", [student.pk])
    out = StringIO()

    with pytest.raises(CommandError):
        call_command("check_integrity", stdout=out)

    assert found(check_integrity()) == {("balance_mismatch", (student.pk,))}
    assert f"User {student.pk} has a balance of 5 but ledger rows summing to 0." in out.getvalue()


def test_waitlisted_student_on_a_session_without_any_confirmed_booking(funded_student):
    session = SessionFactory(capacity=1)
    first, second = funded_student(3), funded_student(3)
    confirmed = book_session(student=first, session=session, by=first)
    waiting = book_session(student=second, session=session, by=second)
    sql(
        f"UPDATE {BOOKING} SET status = 'cancelled', cancelled_at = %s WHERE id = %s",
        [timezone.now(), confirmed.pk],
    )
    assert [str(finding) for finding in check_integrity()] == [
        f"[waitlisted_with_free_seat] Booking {waiting.pk} of student {second.pk} is waitlisted "
        f"on session {session.pk}, which has a free seat the student can pay for."
    ]


def test_each_finding_says_what_is_wrong_in_words(booked, funded_student):
    session, confirmed, cancelled = booked["session"], booked["confirmed"], booked["cancelled"]
    refund = CreditTransaction.objects.get(booking=cancelled, kind="refund").pk
    stranger = funded_student(0)
    sql(f"UPDATE {USER} SET credit_balance = 5 WHERE id = %s", [stranger.pk])
    sql(f"UPDATE {BOOKING} SET credits_charged = 2 WHERE id = %s", [confirmed.pk])
    sql(f"UPDATE {LEDGER} SET amount = 3 WHERE id = %s", [refund])
    sql(
        f"UPDATE {USER} SET credit_balance = credit_balance + 2 WHERE id = %s",
        [cancelled.student_id],
    )
    sql(f"UPDATE {SESSION} SET capacity = 1 WHERE id = %s", [session.pk])

    assert sorted(str(finding) for finding in check_integrity()) == sorted(
        [
            f"[balance_mismatch] User {stranger.pk} has a balance of 5 but ledger rows "
            "summing to 0.",
            f"[charge_mismatch] Booking {confirmed.pk} (confirmed) records 2 credits charged but "
            "has 1 charge row(s) that do not match it.",
            f"[refund_mismatch] Booking {cancelled.pk} (cancelled, 1 credits charged) has "
            f"1 refund(s): transactions [{refund}].",
            f"[overbooked] Session {session.pk} has 2 confirmed bookings for 1 seats.",
        ]
    )


def test_findings_on_waitlists_come_session_by_session(funded_student):
    lower, higher = SessionFactory(capacity=1), SessionFactory(capacity=1)
    waiting = {}
    for session in (higher, lower):  # the higher session's bookings are made first
        holder, student = funded_student(3), funded_student(3)
        held = book_session(student=holder, session=session, by=holder)
        waiting[session] = book_session(student=student, session=session, by=student)
        sql(
            f"UPDATE {BOOKING} SET status = 'cancelled', cancelled_at = %s WHERE id = %s",
            [timezone.now(), held.pk],
        )
    assert waiting[higher].pk < waiting[lower].pk
    assert [finding.ids for finding in check_integrity()] == [
        (waiting[lower].pk, lower.pk),
        (waiting[higher].pk, higher.pk),
    ]


def test_waiters_beside_a_free_seat_are_listed_in_booking_order():
    """Within a session the findings follow the booking id. The later id is written
    first, so a read in storage order (PostgreSQL's) would list it first."""
    session = SessionFactory(capacity=5, credit_cost=1)
    for pk in (900_002, 900_001):
        waiting = BookingFactory(pk=pk, session=session, status="waitlisted")
        CreditGrantFactory(user=waiting.student, amount=1)

    findings = nobody_waits_for_a_free_seat()

    assert [finding.ids for finding in findings] == [
        (900_001, session.pk),
        (900_002, session.pk),
    ]
