import pytest
from django.core.management import call_command

from accounts.models import User
from bookings.models import Booking, CreditTransaction
from engagement.models import Attendance, Feedback, Project
from scheduling.models import Session

pytestmark = pytest.mark.django_db

MODELS = (User, Session, Booking, CreditTransaction, Attendance, Feedback, Project)


def test_seed_demo_is_idempotent_and_covers_every_kind_of_data(capsys):
    call_command("seed_demo")
    first = [model.objects.count() for model in MODELS]
    call_command("seed_demo")
    assert [model.objects.count() for model in MODELS] == first

    assert set(Session.objects.values_list("session_type", flat=True)) == {
        "on_site",
        "virtual",
        "hybrid",
    }
    assert Booking.objects.filter(status="waitlisted").exists()
    assert all(count > 0 for count in first)
    assert "admin" in capsys.readouterr().out
