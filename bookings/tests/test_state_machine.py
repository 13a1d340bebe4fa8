"""Random sequences of booking operations keep every integrity invariant.

Hypothesis drives the services (book, cancel, grant, change capacity or cost,
cancel a session) over two sessions and three students; after every step
`check_integrity()` must find nothing, and each outcome is checked against what
SPEC §3 says it should be given the state just before.
"""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from accounts.models import User
from accounts.tests.factories import StaffFactory, StudentFactory
from bookings.integrity import check_integrity
from bookings.models import Booking
from bookings.services import (
    book_session,
    cancel_booking,
    cancel_session,
    grant_credits,
    refund_deadline,
    session_update,
)
from config.errors import Conflict
from scheduling.models import Session
from scheduling.tests.factories import SemesterFactory, SessionFactory

pytestmark = pytest.mark.django_db

# Few students and sessions, small capacities: steps collide on the same seats often.
STUDENTS = st.integers(min_value=0, max_value=2)
SESSIONS = st.integers(min_value=0, max_value=1)
PICKS = st.integers(min_value=0, max_value=5)


class BookingEngine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        # Each example runs in a savepoint rolled back at teardown: examples start clean.
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        self.staff = StaffFactory()
        semester = SemesterFactory()
        soon = timezone.now() + timedelta(hours=2)
        self.session_ids = [
            SessionFactory(semester=semester, capacity=1, credit_cost=1).pk,
            # Inside the cancellation deadline: cancelling refunds nothing.
            SessionFactory(
                semester=semester,
                capacity=1,
                credit_cost=2,
                date_start=soon,
                date_end=soon + timedelta(hours=1),
            ).pk,
        ]
        self.students = [StudentFactory() for _ in range(3)]
        for student in self.students:
            grant_credits(student=student, amount=2, by=self.staff)
        self.steps = 0

    def teardown(self) -> None:
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)

    def session(self, index: int) -> Session:
        return Session.objects.get(pk=self.session_ids[index])

    def student(self, index: int) -> User:
        return User.objects.get(pk=self.students[index].pk)

    def confirmed(self, session: Session) -> int:
        return Booking.objects.filter(session=session, status="confirmed").count()

    @rule(student=STUDENTS, session=SESSIONS)
    def book(self, student: int, session: int) -> None:
        self.try_booking(student, session)

    # Bookings drive everything else: a second rule doubles their share of the steps.
    @rule(student=STUDENTS, session=SESSIONS)
    def book_again(self, student: int, session: int) -> None:
        self.try_booking(student, session)

    def try_booking(self, student: int, session: int) -> None:
        target, who = self.session(session), self.student(student)
        had_seat = self.confirmed(target) < target.capacity
        held = Booking.objects.live().filter(session=target, student=who).exists()
        try:
            booking = book_session(student=who, session=target, by=who)
        except Conflict as refused:
            if target.status == Session.Status.CANCELLED:
                assert refused.code == "session_cancelled"
            elif held:
                assert refused.code == "already_booked"
            else:
                assert refused.code == "insufficient_credits"
                assert who.credit_balance < target.credit_cost
            return
        assert not held and target.status == Session.Status.SCHEDULED
        assert booking.status == ("confirmed" if had_seat else "waitlisted")

    @rule(pick=PICKS)
    def cancel(self, pick: int) -> None:
        self.try_cancelling(pick)

    @rule(pick=PICKS)
    def cancel_again(self, pick: int) -> None:
        self.try_cancelling(pick)

    def try_cancelling(self, pick: int) -> None:
        """Cancel one of the live bookings (a step is never wasted on a missing one)."""
        live = list(Booking.objects.live().select_related("session").order_by("pk"))
        if not live:
            return
        booking = live[pick % len(live)]
        in_time = timezone.now() <= refund_deadline(booking.session)
        result = cancel_booking(booking=booking, by=self.staff)
        confirmed = booking.status == "confirmed"
        assert result.credits_refunded == (booking.credits_charged if confirmed and in_time else 0)

    @rule(student=STUDENTS, amount=st.integers(min_value=1, max_value=3))
    def grant(self, student: int, amount: int) -> None:
        before = self.student(student).credit_balance
        grant_credits(student=self.students[student], amount=amount, by=self.staff)
        spent_on_promotions = before + amount - self.student(student).credit_balance
        assert spent_on_promotions >= 0

    @rule(session=SESSIONS, capacity=st.integers(min_value=1, max_value=4))
    def change_capacity(self, session: int, capacity: int) -> None:
        target = self.session(session)
        confirmed = self.confirmed(target)
        try:
            session_update(session=target, by=self.staff, capacity=capacity)
        except Conflict as refused:
            if target.status == Session.Status.CANCELLED:
                assert refused.code == "session_cancelled"
            else:
                assert refused.code == "capacity_below_confirmed"
                assert capacity < confirmed
            return
        assert capacity >= confirmed

    @rule(session=SESSIONS, cost=st.integers(min_value=0, max_value=3))
    def change_cost(self, session: int, cost: int) -> None:
        target = self.session(session)
        try:
            session_update(session=target, by=self.staff, credit_cost=cost)
        except Conflict as refused:
            assert refused.code == "session_cancelled"

    # Not in the first steps: a session cancelled at once leaves little to explore.
    @precondition(lambda self: self.steps >= 6)
    @rule(session=SESSIONS)
    def cancel_the_session(self, session: int) -> None:
        target = self.session(session)
        charged = sum(
            Booking.objects.filter(session=target, status="confirmed").values_list(
                "credits_charged", flat=True
            )
        )
        try:
            result = cancel_session(session=target, by=self.staff)
        except Conflict as refused:
            assert refused.code == "session_cancelled"
            assert target.status == Session.Status.CANCELLED
            return
        assert result.credits_refunded == charged

    @invariant()
    def integrity_holds(self) -> None:
        self.steps += 1
        assert check_integrity() == []


def test_random_operation_sequences_keep_the_invariants():
    run_state_machine_as_test(
        BookingEngine,
        settings=settings(
            max_examples=30,
            stateful_step_count=10,
            deadline=None,
            database=None,
            derandomize=True,
        ),
    )
