"""Staff read the last emails and their status in the admin; nobody edits the log."""

import pytest
from django.utils import timezone

from accounts.tests.factories import StaffFactory, StudentFactory
from notifications.models import SentEmail

pytestmark = pytest.mark.django_db

URL = "/admin/notifications/sentemail/"


def log(status: str, subject: str) -> SentEmail:
    return SentEmail.objects.create(
        key=subject,
        kind="booking_confirmed",
        to_address="ada@example.test",
        subject=subject,
        status=status,
        queued_at=timezone.now(),
    )


def test_staff_see_the_last_emails_with_their_status(client):
    log("sent", "Booked: Serve drills")
    failed = log("failed", "Booked: Footwork")
    client.force_login(StaffFactory())

    listing = client.get(URL)
    detail = client.get(f"{URL}{failed.pk}/change/")

    assert listing.status_code == 200
    page = listing.content.decode()
    assert "Booked: Serve drills" in page and "Booked: Footwork" in page
    assert page.index("Booked: Footwork") < page.index("Booked: Serve drills")  # newest first
    assert "Failed" in page
    assert detail.status_code == 200
    assert b'name="_save"' not in detail.content  # read-only
    assert client.get(f"{URL}add/").status_code == 403


def test_the_log_is_not_for_students(client):
    client.force_login(StudentFactory())

    assert client.get(URL).status_code == 302
