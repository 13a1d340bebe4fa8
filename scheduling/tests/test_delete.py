import pytest

from accounts.tests.factories import InstructorFactory, StaffFactory
from bookings.models import Booking
from bookings.tests.factories import BookingFactory
from config.errors import PermissionDenied
from engagement.models import Attendance, Feedback, ProjectSession
from engagement.tests.factories import AttendanceFactory, FeedbackFactory, ProjectSessionFactory
from scheduling.errors import SessionProtected
from scheduling.models import Session
from scheduling.services import session_delete
from scheduling.tests.factories import PastSessionFactory, SessionFactory

pytestmark = pytest.mark.django_db

NOTHING = {"bookings": 0, "attendance": 0, "feedback": 0, "projects": 0}


@pytest.mark.parametrize(
    ("make_blocker", "relation", "count"),
    [
        (lambda s: BookingFactory.create_batch(2, session=s, status="cancelled"), "bookings", 2),
        (lambda s: AttendanceFactory(session=s), "attendance", 1),
        (lambda s: FeedbackFactory.create_batch(3, session=s), "feedback", 3),
        (lambda s: ProjectSessionFactory(session=s), "projects", 1),
    ],
)
def test_delete_is_refused_naming_each_blocking_relation(make_blocker, relation, count):
    session = PastSessionFactory()
    make_blocker(session)
    rows_before = [m.objects.count() for m in (Booking, Attendance, Feedback, ProjectSession)]

    with pytest.raises(SessionProtected) as refused:
        session_delete(session=session, by=StaffFactory())

    assert refused.value.blocking == {**NOTHING, relation: count}
    assert refused.value.code == "protected"
    assert Session.objects.filter(pk=session.pk).exists()
    assert rows_before == [
        m.objects.count() for m in (Booking, Attendance, Feedback, ProjectSession)
    ]


def test_clean_session_deletes():
    session = SessionFactory()
    session_delete(session=session, by=session.semester.master_instructor)
    assert not Session.objects.filter(pk=session.pk).exists()


def test_only_staff_or_master_instructor_may_delete():
    session = SessionFactory()
    with pytest.raises(PermissionDenied):
        session_delete(session=session, by=InstructorFactory())
    assert Session.objects.filter(pk=session.pk).exists()
