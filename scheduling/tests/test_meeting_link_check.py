"""`can_see_meeting_link` on both of its paths: the annotation a list carries, and
the one query it asks when a session comes on its own (no API path does today;
a page or an email reading one session would).

Killed mutants (mutmut, README "Mutation testing") and planted bugs, each failing here:
- the fallback without `status="confirmed"`, without `session_id` or without
  `student_id`: the direct table below fails;
- the annotation ignored (always asking the database): the list budget fails.
"""

import pytest

from accounts.tests.factories import StudentFactory
from bookings.models import Booking
from bookings.tests.factories import BookingFactory
from scheduling.access import can_see_meeting_link
from scheduling.models import Session
from scheduling.tests.factories import SemesterFactory, SessionFactory

pytestmark = pytest.mark.django_db

LIST = "/api/v1/sessions/"


@pytest.mark.parametrize(
    ("situation", "sees"),
    [
        ("own_confirmed", True),
        ("own_waitlisted", False),
        ("own_cancelled", False),
        ("another_students_confirmed", False),
        ("own_confirmed_on_another_session", False),
    ],
)
def test_outside_a_list_the_check_asks_once_for_a_confirmed_booking_of_its_own(
    django_assert_num_queries, situation, sees
):
    session = SessionFactory(session_type=Session.SessionType.VIRTUAL)
    student = StudentFactory()
    if situation == "another_students_confirmed":
        BookingFactory(student=StudentFactory(), session=session)
    elif situation == "own_confirmed_on_another_session":
        BookingFactory(student=student, session=SessionFactory(semester=session.semester))
    else:
        status = situation.removeprefix("own_")
        BookingFactory(student=student, session=session, status=status)
    plain = Session.objects.select_related("semester").get(pk=session.pk)

    # 1: EXISTS on this student's confirmed booking of this session (the semester came along).
    with django_assert_num_queries(1):
        assert can_see_meeting_link(student, plain) is sees


@pytest.mark.parametrize("size", [1, 10])
def test_a_students_list_of_virtual_sessions_costs_three_queries(
    token_client, django_assert_num_queries, size
):
    """Each row's link answers from the page statement's EXISTS, never a query per row."""
    student = StudentFactory()
    semester = SemesterFactory()
    sessions = SessionFactory.create_batch(
        size, semester=semester, session_type=Session.SessionType.VIRTUAL
    )
    BookingFactory(student=student, session=sessions[0])
    if size > 1:
        BookingFactory(student=student, session=sessions[-1], status=Booking.Status.WAITLISTED)
    client = token_client(student)

    # 1: token and user; 2: COUNT(*); 3: the page with statistics and the viewer's booking.
    with django_assert_num_queries(3):
        response = client.get(LIST)

    links = {row["id"]: row["meeting_link"] for row in response.json()["results"]}
    assert links[sessions[0].pk] == "https://meet.example.test/room"
    assert [pk for pk, link in links.items() if link] == [sessions[0].pk]


def test_a_students_session_detail_costs_two_queries(token_client, django_assert_num_queries):
    session = SessionFactory(session_type=Session.SessionType.VIRTUAL)
    student = StudentFactory()
    BookingFactory(student=student, session=session)
    client = token_client(student)

    # 1: token and user; 2: the session with statistics and the viewer's booking.
    with django_assert_num_queries(2):
        response = client.get(f"{LIST}{session.pk}/")

    assert response.json()["meeting_link"] == "https://meet.example.test/room"
