import pytest

from bookings.tests.factories import BookingFactory
from engagement.tests.factories import AttendanceFactory, FeedbackFactory, ProjectSessionFactory
from scheduling.models import Session
from scheduling.querysets import SESSION_STATISTICS, PerSessionAggregate
from scheduling.tests.factories import PastSessionFactory, SessionFactory

pytestmark = pytest.mark.django_db


def test_with_stats_is_exact_under_join_fan_out():
    busy = PastSessionFactory(capacity=2)
    confirmed = BookingFactory.create_batch(2, session=busy, status="confirmed")
    BookingFactory(session=busy, status="waitlisted")
    BookingFactory(session=busy, status="cancelled")
    AttendanceFactory(session=busy, student=confirmed[0].student, status="present")
    AttendanceFactory(session=busy, student=confirmed[1].student, status="absent")
    FeedbackFactory(session=busy, student=confirmed[0].student, rating=4)
    FeedbackFactory(session=busy, student=confirmed[1].student, rating=5)
    ProjectSessionFactory(session=busy)
    empty_before, empty_after = SessionFactory(), SessionFactory()

    stats = {s.pk: s for s in Session.objects.with_stats()}

    figures = stats[busy.pk]
    assert figures.booking_count == 3
    assert figures.confirmed_count == 2
    assert figures.waitlist_count == 1
    assert figures.available_spots == 0
    assert figures.attendance_count == 1
    assert figures.feedback_count == 2
    assert figures.average_rating == pytest.approx(4.5)
    assert figures.project_count == 1
    # Read without Django's per-value int()/float(): the database's own types must be these.
    assert {type(getattr(figures, name)) for name in SESSION_STATISTICS} == {int, float}
    assert type(figures.average_rating) is float
    for empty in (empty_before, empty_after):
        assert stats[empty.pk].booking_count == 0
        assert stats[empty.pk].available_spots == 20
        assert stats[empty.pk].average_rating is None
        assert stats[empty.pk].feedback_count == 0


@pytest.mark.parametrize("size", [1, 10, 100])
def test_with_stats_is_one_query_at_every_size(size, django_assert_num_queries):
    for session in PastSessionFactory.create_batch(size, capacity=5):
        booking = BookingFactory(session=session)
        AttendanceFactory(session=session, student=booking.student)
        FeedbackFactory(session=session, student=booking.student)
    with django_assert_num_queries(1):
        rows = list(Session.objects.with_stats())
    assert len(rows) == size
    assert all(row.confirmed_count == 1 and row.feedback_count == 1 for row in rows)


@pytest.mark.parametrize("status", ["confirmed') OR ('1'='1", "waitlisted--", ""])
def test_a_status_that_is_not_a_plain_value_never_reaches_the_sql(status):
    """The statuses are written into the SQL template: anything but an identifier is
    refused when the expression is built, naming what was passed."""
    with pytest.raises(ValueError, match=r"^Not a status value: \(") as refused:
        PerSessionAggregate("bookings.Booking", statuses=("confirmed", status))
    assert repr(status) in str(refused.value)
