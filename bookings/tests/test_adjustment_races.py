"""Debit adjustments under real concurrency (PostgreSQL): the balance never goes below zero,
whatever else takes credits at the same time."""

from collections import Counter
from functools import partial

import pytest
from django.db import connection

from activity.models import Activity
from bookings.integrity import check_integrity
from bookings.models import CreditTransaction
from bookings.services import adjust_credits, book_session
from scheduling.tests.factories import SessionFactory

pytestmark = [
    pytest.mark.concurrency,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="SQLite serialises writers: no race to test"
    ),
]


@pytest.fixture(autouse=True)
def patient_locks(settings):
    settings.BOOKING_LOCK_TIMEOUT_MS = 30_000


def codes(outcome) -> Counter:
    return Counter(getattr(e, "code", type(e).__name__) for e in outcome.errors.values())


def test_racing_debits_take_no_more_than_the_balance(race, funded_student, staff):
    student = funded_student(10)

    outcome = race(
        [
            partial(adjust_credits, student=student, amount=-3, note=f"Fix {n}", by=staff)
            for n in range(10)
        ]
    )

    assert codes(outcome) == {"insufficient_credits": 7}
    student.refresh_from_db()
    assert student.credit_balance == 1
    assert CreditTransaction.objects.filter(user=student, kind="adjustment").count() == 3
    assert Activity.objects.filter(verb="credits.adjusted").count() == 3
    assert check_integrity() == []


def test_debits_and_bookings_share_one_balance(race, funded_student, staff):
    student = funded_student(10)
    sessions = SessionFactory.create_batch(5, credit_cost=2)
    calls = [partial(book_session, student=student, session=s, by=student) for s in sessions]
    calls += [
        partial(adjust_credits, student=student, amount=-2, note=f"Fix {n}", by=staff)
        for n in range(5)
    ]

    outcome = race(calls)

    assert len(outcome.results) == 5
    assert codes(outcome) == {"insufficient_credits": 5}
    student.refresh_from_db()
    assert student.credit_balance == 0
    assert check_integrity() == []
