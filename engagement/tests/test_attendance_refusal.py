"""The refusal an instructor who does not teach the session gets, word for word: the
pages show it as a message and the API as `detail` (mutmut: the text was unguarded)."""

import pytest

from accounts.tests.factories import InstructorFactory
from bookings.tests.factories import BookingFactory
from scheduling.tests.factories import PastSessionFactory

pytestmark = pytest.mark.django_db


def test_an_instructor_of_another_session_is_told_who_records_attendance(token_client):
    session = PastSessionFactory()
    booking = BookingFactory(session=session)

    response = token_client(InstructorFactory()).post(
        "/api/v1/attendance/",
        {"session": session.pk, "student": booking.student_id, "status": "present"},
    )

    assert response.status_code == 403
    assert response.json()["detail"] == (
        "Only staff or the session's instructors may record attendance."
    )
