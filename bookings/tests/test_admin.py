"""Bookings and the ledger in the admin: read-only rows, service-backed actions."""

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from accounts.models import User
from accounts.tests.factories import StaffFactory, StudentFactory
from bookings.integrity import check_integrity
from bookings.models import Booking, CreditTransaction, IdempotencyKey
from bookings.services import book_session
from bookings.tests.factories import BookingFactory, CreditGrantFactory
from scheduling.tests.factories import PastSessionFactory, SessionFactory

pytestmark = pytest.mark.django_db

BOOKINGS = reverse("admin:bookings_booking_changelist")


def assert_ledger_reconciled() -> None:
    assert check_integrity() == []
    for user in User.objects.all():
        total = sum(CreditTransaction.objects.filter(user=user).values_list("amount", flat=True))
        assert total == user.credit_balance, user.username


@pytest.fixture
def staff_client(staff: User) -> Client:
    client = Client()
    client.force_login(staff)
    return client


@pytest.mark.parametrize("size", [10, 200])
def test_booking_changelist_queries_do_not_grow(staff_client, size, django_assert_num_queries):
    session = SessionFactory(capacity=size)
    BookingFactory.create_batch(size - 1, session=session)
    BookingFactory(session=session, status=Booking.Status.WAITLISTED)

    # 2 auth + 1 semester filter choices + 1 count (no unfiltered total) + 1 page
    # with students, sessions and waitlist positions + 2 date hierarchy (range, days).
    with django_assert_num_queries(7):
        response = staff_client.get(BOOKINGS)

    assert response.status_code == 200
    rows = response.context["cl"].result_list
    assert len(rows) == min(size, 100)
    positions = {row.status: row.waitlist_position for row in rows}
    assert positions["confirmed"] is None
    if size <= 100:
        assert positions["waitlisted"] == 1


@pytest.mark.parametrize("url_name", ["add", "change", "delete"])
@pytest.mark.parametrize("model", [Booking, CreditTransaction, IdempotencyKey])
def test_rows_cannot_be_written_through_the_admin(admin_client, staff, model, url_name):
    """Even a superuser gets 403: seats, credits and replays move only through services."""
    booking = BookingFactory(credits_charged=0)
    rows = {
        Booking: booking,
        CreditTransaction: CreditGrantFactory(user=booking.student, amount=5),
        IdempotencyKey: IdempotencyKey.objects.create(
            user=staff,
            key="k1",
            endpoint="/api/v1/bookings/",
            request_fingerprint="f",
            response_status=201,
            response_body={"id": 1},
        ),
    }
    row = rows[model]
    before = list(model.objects.order_by("pk").values())
    opts = model._meta
    args = [] if url_name == "add" else [row.pk]
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_{url_name}", args=args)

    payload = {"post": "yes", "amount": "500", "status": "confirmed", "note": "edited"}
    response = admin_client.post(url, payload)

    assert response.status_code == 403
    assert list(model.objects.order_by("pk").values()) == before
    assert_ledger_reconciled()


def test_ledger_pages_are_viewable_but_offer_no_writes(admin_client):
    grant = CreditGrantFactory()
    changelist = admin_client.get(reverse("admin:bookings_credittransaction_changelist"))
    assert changelist.status_code == 200
    # Not even the bulk delete: the changelist offers no action at all.
    assert changelist.context["action_form"] is None
    assert not changelist.context["has_add_permission"]
    page = admin_client.get(reverse("admin:bookings_credittransaction_change", args=[grant.pk]))
    assert page.status_code == 200
    assert page.context["title"].startswith("View")


def test_cancel_bookings_action_refunds_promotes_and_reports(staff_client, funded_student):
    session = SessionFactory(capacity=1, credit_cost=4)
    holder, waiting = funded_student(credits=10), funded_student(credits=10)
    held = book_session(student=holder, session=session, by=holder)
    book_session(student=waiting, session=session, by=waiting)
    started = PastSessionFactory()
    late = BookingFactory(session=started, student=StudentFactory())

    response = staff_client.post(
        BOOKINGS,
        {"action": "cancel_selected_bookings", "_selected_action": [held.pk, late.pk]},
        follow=True,
    )

    assert response.status_code == 200
    held.refresh_from_db()
    assert held.status == Booking.Status.CANCELLED
    holder.refresh_from_db()
    waiting.refresh_from_db()
    assert holder.credit_balance == 10  # refunded in full
    assert waiting.credit_balance == 6  # promoted, and charged on promotion
    assert Booking.objects.get(student=waiting).status == Booking.Status.CONFIRMED
    late.refresh_from_db()
    assert late.status == Booking.Status.CONFIRMED
    messages = [str(message) for message in get_messages(response.wsgi_request)]
    assert (
        "Cancelled 1 booking(s): 4 credit(s) refunded, 1 waitlisted booking(s) promoted."
        in messages
    )
    assert any("already started" in message for message in messages)
    assert_ledger_reconciled()


def test_booking_is_view_only(admin_client):
    booking = BookingFactory()
    page = admin_client.get(reverse("admin:bookings_booking_change", args=[booking.pk]))
    assert page.status_code == 200
    assert page.context["title"].startswith("View")
    assert admin_client.get(reverse("admin:bookings_booking_add")).status_code == 403


def test_a_non_staff_user_is_kept_out(client):
    client.force_login(StaffFactory(is_staff=False, is_superuser=False))
    response = client.get(BOOKINGS)
    assert response.status_code == 302
    assert "/login/" in response["Location"]
