"""The attendance service names the statuses it takes. The API's choice field and the
register page's radio buttons offer only those, so only other callers (a command,
a script) meet this refusal."""

import pytest
from django.core.exceptions import ValidationError

from bookings.tests.factories import BookingFactory
from engagement.models import Attendance
from engagement.services import attendance_record
from scheduling.tests.factories import PastSessionFactory

pytestmark = pytest.mark.django_db


def test_an_unknown_status_is_refused_naming_every_status():
    booking = BookingFactory(session=PastSessionFactory())
    session = booking.session

    with pytest.raises(ValidationError) as refused:
        attendance_record(
            session=session, student=booking.student, status="asleep", by=session.instructor
        )

    assert refused.value.message_dict == {
        "status": ["Choose one of present, late, absent, excused."]
    }
    assert not Attendance.objects.exists()
