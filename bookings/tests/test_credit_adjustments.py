"""Staff corrections of a balance: POST /api/v1/credits/adjust/ and the users admin's
"Adjust credits" action, both through bookings.services.adjust_credits."""

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test import Client
from django.urls import reverse

from accounts.tests.factories import StudentFactory
from activity.models import Activity
from bookings.integrity import check_integrity
from bookings.models import Booking, CreditTransaction
from bookings.services import MAX_GRANT
from bookings.tests.api_world import ROLES, build_world
from bookings.tests.factories import BookingFactory, CreditGrantFactory
from scheduling.tests.factories import SessionFactory

pytestmark = pytest.mark.django_db

ADJUST_URL = "/api/v1/credits/adjust/"
USERS = reverse("admin:accounts_user_changelist")


@pytest.fixture
def world():
    return build_world()


def balance_of(user) -> int:
    user.refresh_from_db()
    return user.credit_balance


def adjustments() -> list[Activity]:
    return list(Activity.objects.filter(verb="credits.adjusted").order_by("id"))


# role -> status of a valid adjustment.
ADJUST_TABLE = {
    "anonymous": 401,
    "student": 403,
    "other_student": 403,
    "instructor": 403,
    "master": 403,
    "other_instructor": 403,
    "staff": 201,
}


def test_the_table_covers_every_role():
    assert tuple(ADJUST_TABLE) == ROLES


@pytest.mark.parametrize(("role", "status"), ADJUST_TABLE.items())
def test_only_staff_adjust(as_role, world, role, status):
    response = as_role(role).post(
        ADJUST_URL, {"student": world.student.pk, "amount": -4, "note": "Double grant"}
    )

    assert response.status_code == status
    assert balance_of(world.student) == (6 if status == 201 else 10)
    if status != 201:
        assert adjustments() == []
        return
    body = response.json()
    assert (body["user"], body["amount"], body["kind"], body["note"], body["created_by"]) == (
        world.student.pk,
        -4,
        "adjustment",
        "Double grant",
        world.staff.pk,
    )
    (adjusted,) = adjustments()
    assert (adjusted.actor, adjusted.student, adjusted.target_id) == (
        world.staff,
        world.student,
        body["id"],
    )
    assert adjusted.data == {"amount": -4, "note": "Double grant"}
    assert check_integrity() == []


def test_a_debit_the_balance_does_not_cover_is_409(as_role, world):
    response = as_role("staff").post(
        ADJUST_URL, {"student": world.student.pk, "amount": -11, "note": "Too much"}
    )

    assert response.status_code == 409
    assert response.json()["code"] == "insufficient_credits"
    assert balance_of(world.student) == 10
    assert not CreditTransaction.objects.filter(kind="adjustment").exists()
    assert adjustments() == []


def test_a_debit_may_take_the_balance_to_exactly_zero(as_role, world):
    response = as_role("staff").post(
        ADJUST_URL, {"student": world.student.pk, "amount": -10, "note": "Refunded in cash"}
    )
    assert response.status_code == 201
    assert balance_of(world.student) == 0
    assert check_integrity() == []


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"amount": 5, "note": "n"}, "student"),
        ({"student": "instructor", "amount": 5, "note": "n"}, "student"),
        ({"student": "student", "note": "n"}, "amount"),
        ({"student": "student", "amount": 0, "note": "n"}, "amount"),
        ({"student": "student", "amount": MAX_GRANT + 1, "note": "n"}, "amount"),
        ({"student": "student", "amount": -MAX_GRANT - 1, "note": "n"}, "amount"),
        ({"student": "student", "amount": "many", "note": "n"}, "amount"),
        ({"student": "student", "amount": 5}, "note"),
        ({"student": "student", "amount": 5, "note": "   "}, "note"),
        ({"student": "student", "amount": 5, "note": "x" * 256}, "note"),
    ],
)
def test_invalid_adjustments_are_400_naming_the_field(as_role, world, payload, field):
    payload = {
        name: getattr(world, value).pk if name == "student" and isinstance(value, str) else value
        for name, value in payload.items()
    }
    response = as_role("staff").post(ADJUST_URL, payload, format="json")

    assert response.status_code == 400
    assert field in response.json()
    assert balance_of(world.student) == 10
    assert adjustments() == []


@pytest.mark.parametrize(
    ("payload", "field", "message"),
    [
        (
            {"student": "instructor", "amount": 5, "note": "n"},
            "student",
            "Credits are granted to students only.",
        ),
        (
            {"student": "student", "amount": MAX_GRANT + 1, "note": "n"},
            "amount",
            f"An adjustment is between -{MAX_GRANT} and {MAX_GRANT} credits, not 0.",
        ),
    ],
)
def test_each_refusal_says_the_rule(as_role, world, payload, field, message):
    payload["student"] = getattr(world, payload["student"]).pk
    response = as_role("staff").post(ADJUST_URL, payload, format="json")

    assert (response.status_code, response.json()[field]) == (400, [message])


def test_the_largest_adjustment_with_the_longest_note_is_accepted(as_role, world):
    payload = {"student": world.student.pk, "amount": MAX_GRANT, "note": "x" * 255}

    response = as_role("staff").post(ADJUST_URL, payload, format="json")

    assert response.status_code == 201
    assert balance_of(world.student) == 10 + MAX_GRANT
    assert check_integrity() == []


def test_a_credit_promotes_the_waitlist_it_now_pays_for(as_role, world):
    session = SessionFactory(capacity=2, credit_cost=3)
    BookingFactory(session=session)
    poor = StudentFactory()
    waiting = BookingFactory(session=session, student=poor, status=Booking.Status.WAITLISTED)

    response = as_role("staff").post(
        ADJUST_URL, {"student": poor.pk, "amount": 3, "note": "Missed grant"}
    )

    assert response.status_code == 201
    waiting.refresh_from_db()
    assert (waiting.status, waiting.credits_charged) == ("confirmed", 3)
    assert balance_of(poor) == 0
    promoted = Activity.objects.get(verb="booking.promoted")
    assert (promoted.actor, promoted.student, promoted.target_id) == (None, poor, waiting.pk)
    assert promoted.data == {"credits_charged": 3, "balance_after": 0}
    assert check_integrity() == []


def test_a_replayed_adjustment_moves_and_records_nothing_more(as_role, world):
    client = as_role("staff")
    body = {"student": world.student.pk, "amount": -2, "note": "Correction"}

    first = client.post(ADJUST_URL, body, headers={"Idempotency-Key": "fix-1"})
    again = client.post(ADJUST_URL, body, headers={"Idempotency-Key": "fix-1"})

    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert balance_of(world.student) == 8
    assert len(adjustments()) == 1


def test_a_debit_costs_a_fixed_number_of_queries(token_client, world, django_assert_num_queries):
    client = token_client(world.staff)
    transaction_overhead = 3 if connection.vendor == "postgresql" else 2

    # token+user, the student; savepoint + release (and, on PostgreSQL, SET LOCAL
    # lock_timeout); the conditional UPDATE of the balance, INSERT ledger row,
    # INSERT activity (which also asks whether a webhook endpoint is active: none).
    with django_assert_num_queries(5 + transaction_overhead):
        response = client.post(
            ADJUST_URL, {"student": world.student.pk, "amount": -1, "note": "Typo"}
        )

    assert response.status_code == 201


def adjust_in_admin(client: Client, users, **form: str):
    data = {"action": "adjust_credits_action", "_selected_action": [u.pk for u in users], **form}
    return client.post(USERS, data, follow=bool(form))


@pytest.fixture
def staff_client(world) -> Client:
    client = Client()
    client.force_login(world.staff)
    return client


def test_the_admin_action_asks_first_then_adjusts(staff_client, world):
    asked = adjust_in_admin(staff_client, [world.student])
    assert asked.status_code == 200
    assert asked.context["title"] == "Adjust credits"
    assert not CreditTransaction.objects.filter(kind="adjustment").exists()

    done = adjust_in_admin(
        staff_client, [world.student], amount="-3", note="Wrong grant", apply="1"
    )

    assert done.redirect_chain[-1][0] == USERS
    assert balance_of(world.student) == 7
    (adjusted,) = adjustments()
    assert (adjusted.actor, adjusted.student, adjusted.data) == (
        world.staff,
        world.student,
        {"amount": -3, "note": "Wrong grant"},
    )
    messages = [str(m) for m in get_messages(done.wsgi_request)]
    assert "Adjusted 1 student(s) by -3 credit(s)." in messages


def test_the_admin_action_reports_a_debit_it_could_not_make(staff_client, world):
    rich = StudentFactory()
    CreditGrantFactory(user=rich, amount=50)

    done = adjust_in_admin(
        staff_client, [world.student, rich], amount="-20", note="Clawback", apply="1"
    )

    assert balance_of(world.student) == 10
    assert balance_of(rich) == 30
    messages = [str(m) for m in get_messages(done.wsgi_request)]
    assert any(world.student.username in m and "negative balance" in m for m in messages)
    assert [a.student for a in adjustments()] == [rich]


@pytest.mark.parametrize("amount", ["0", str(MAX_GRANT + 1), str(-MAX_GRANT - 1), "lots"])
def test_the_admin_form_refuses_an_invalid_amount(staff_client, world, amount):
    response = adjust_in_admin(staff_client, [world.student], amount=amount, note="n", apply="1")
    assert "amount" in response.context["form"].errors
    assert adjustments() == []
