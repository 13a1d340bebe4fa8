"""Statements per booking request, end to end: the registration-rush budget.

Each request goes through the test client with a token, as integrators send it,
and every statement Django sends is counted, BEGIN and COMMIT included (each is a
round trip like any other). The tests run in real transactions
(`transaction=True`), so the outermost
`service_transaction` is BEGIN...COMMIT as in production, not a savepoint inside
the test's transaction. PostgreSQL only: SQLite has neither `lock_timeout` nor
advisory locks, so its count is another one.

Each budget is the list of the statements, in order: a new statement fails the
test, and the list says what the request costs today.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from bookings.models import Booking
from scheduling.tests.factories import SessionFactory

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="the budgets are PostgreSQL's statements"
    ),
]

URL = "/api/v1/bookings/"

BEFORE_THE_WORK = [
    "the token with its user (TokenAuthentication's select_related)",
]
BOOKING_FIRST_STATEMENTS = [
    "BEGIN (lock_timeout is the connection's already: config/atomic.py)",
    "lock the session the caller may see, with the student's eligibility as a column",
    "count confirmed and waitlisted, and the student's live bookings",
]
BOOK_CONFIRMED = [
    *BEFORE_THE_WORK,
    *BOOKING_FIRST_STATEMENTS,
    "conditional debit (UPDATE ... WHERE credit_balance >= cost)",
    "INSERT the booking (RETURNING its id)",
    "INSERT the ledger row",
    "INSERT the booking.confirmed activity, RETURNING whether a webhook endpoint is active",
    "INSERT the task rows: the email and the reminder's planning",
    "COMMIT",
]
BOOK_WAITLISTED = [
    *BEFORE_THE_WORK,
    *BOOKING_FIRST_STATEMENTS,
    "the student's balance (a waitlist needs the cost covered)",
    "INSERT the booking (RETURNING its id)",
    "INSERT the booking.waitlisted activity (and whether a webhook endpoint is active)",
    "INSERT the task row: the email",
    "COMMIT",
]
CANCEL_WITH_PROMOTION = [
    *BEFORE_THE_WORK,
    "BEGIN",
    "lock the booking's session (found as the caller may see it) and those on whose "
    "waitlists its student sits, in ascending id",
    "lock the balances it may move (the student's, the waitlisted students'), ascending id",
    "the booking, the waitlists with their confirmed counts, the student's waitlists",
    "UPDATE the balances: the refund and the promotion's charge (a CASE per user)",
    "INSERT the ledger rows: the refund and the charge",
    "UPDATE the bookings: cancelled and confirmed (bulk_update)",
    "INSERT the booking.cancelled and booking.promoted activities (and the endpoints' EXISTS)",
    "INSERT their task rows: two emails and the reminder's planning (one statement)",
    "COMMIT",
]
# What an Idempotency-Key adds around the work: the service joins the key's transaction
# (no SAVEPOINT), and expired keys are purged by a command, not by the request.
WITH_KEY = [
    "INSERT the key (or take over an expired one) ... ON CONFLICT ... RETURNING id",
    "UPDATE the key with the response",
]


def keyed(budget: list[str]) -> list[str]:
    """`budget` as it runs under an Idempotency-Key: the key's INSERT comes right after
    BEGIN, its UPDATE before COMMIT (the count is what the test compares)."""
    return budget + WITH_KEY


def posted(client, url: str, key: str | None, **data):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    with CaptureQueriesContext(connection) as statements:
        response = client.post(url, data or None, format="json", **headers)
    return response, [query["sql"] for query in statements.captured_queries]


def assert_budget(statements: list[str], budget: list[str]) -> None:
    listing = "\n".join(f"{n:3} {sql[:160]}" for n, sql in enumerate(statements, 1))
    assert len(statements) == len(budget), f"expected:\n{budget}\nran:\n{listing}"


@pytest.mark.parametrize("key", [None, "rush-1"])
def test_a_confirmed_booking(token_client, funded_student, key):
    session = SessionFactory(capacity=5)
    student = funded_student(5)

    response, statements = posted(token_client(student), URL, key, session=session.pk)

    assert (response.status_code, response.json()["status"]) == (201, "confirmed")
    budget = keyed(BOOK_CONFIRMED) if key else BOOK_CONFIRMED
    assert_budget(statements, budget)


@pytest.mark.parametrize("key", [None, "rush-1"])
def test_a_waitlisted_booking(token_client, funded_student, key):
    session = SessionFactory(capacity=1)
    holder, student = funded_student(5), funded_student(5)
    token_client(holder).post(URL, {"session": session.pk}, format="json")

    response, statements = posted(token_client(student), URL, key, session=session.pk)

    assert (response.status_code, response.json()["status"]) == (201, "waitlisted")
    budget = keyed(BOOK_WAITLISTED) if key else BOOK_WAITLISTED
    assert_budget(statements, budget)


@pytest.mark.parametrize("key", [None, "rush-1"])
def test_a_cancellation_that_promotes(token_client, funded_student, key):
    session = SessionFactory(capacity=1)
    holder, waiting = funded_student(5), funded_student(5)
    held = token_client(holder).post(URL, {"session": session.pk}, format="json").json()
    queued = token_client(waiting).post(URL, {"session": session.pk}, format="json").json()

    response, statements = posted(token_client(holder), f"{URL}{held['id']}/cancel/", key)

    assert (response.status_code, response.json()["credits_refunded"]) == (200, 1)
    assert Booking.objects.get(pk=queued["id"]).status == Booking.Status.CONFIRMED
    budget = keyed(CANCEL_WITH_PROMOTION) if key else CANCEL_WITH_PROMOTION
    assert_budget(statements, budget)


GRANT_THAT_PROMOTES = [
    *BEFORE_THE_WORK,
    "BEGIN",
    "lock the sessions on whose waitlists the student sits, in ascending id",
    "lock the student's and the waitlisted students' rows in ascending id",
    "the waitlists with their confirmed counts, the student's waitlists",
    "UPDATE the balances: the grant and the promotion's charge (a CASE per user)",
    "INSERT the ledger rows: the grant and the charge",
    "UPDATE the booking: confirmed (bulk_update)",
    "INSERT the credits.granted and booking.promoted activities (and the endpoints' EXISTS)",
    "INSERT their task rows: two emails and the reminder's planning (one statement)",
    "COMMIT",
]


def test_a_grant_that_promotes(token_client, funded_student, staff):
    session = SessionFactory(capacity=1, credit_cost=2)
    holder, waiting = funded_student(2), funded_student(2)
    held = token_client(holder).post(URL, {"session": session.pk}, format="json").json()
    queued = token_client(waiting).post(URL, {"session": session.pk}, format="json").json()
    token_client(waiting).post(URL, {"session": SessionFactory(credit_cost=2).pk}, format="json")
    # The seat frees up while the student cannot pay: they stay waiting beside it.
    token_client(holder).post(f"{URL}{held['id']}/cancel/")
    assert Booking.objects.get(pk=queued["id"]).status == Booking.Status.WAITLISTED

    response, statements = posted(
        token_client(staff), "/api/v1/credits/grant/", None, student=waiting.pk, amount=2
    )

    assert response.status_code == 201
    assert Booking.objects.get(pk=queued["id"]).status == Booking.Status.CONFIRMED
    assert_budget(statements, GRANT_THAT_PROMOTES)
