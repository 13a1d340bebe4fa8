from datetime import date, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from accounts.tests.factories import StudentFactory
from bookings.tests.factories import BookingFactory
from engagement.tests.factories import FeedbackFactory
from scheduling.models import Group, Semester, Session, SessionSeries
from scheduling.services import validate_session
from scheduling.tests.factories import GroupFactory, SemesterFactory, SessionFactory

pytestmark = pytest.mark.django_db


def _refused_by_database(callable_) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        callable_()


@pytest.mark.parametrize(
    ("field", "value"),
    [("capacity", 0), ("date_end", "before_start"), ("meeting_link", "https://x.test")],
)
def test_session_check_constraints_hold_without_clean(field, value):
    session = SessionFactory()
    if value == "before_start":
        value = session.date_start - timedelta(minutes=1)
    _refused_by_database(lambda: Session.objects.filter(pk=session.pk).update(**{field: value}))


def test_negative_credit_cost_refused_by_database():
    session = SessionFactory()
    _refused_by_database(lambda: Session.objects.filter(pk=session.pk).update(credit_cost=-1))


def test_semester_cannot_end_before_it_starts_in_database():
    semester = SemesterFactory()
    _refused_by_database(
        lambda: Semester.objects.filter(pk=semester.pk).update(
            end_date=semester.start_date - timedelta(days=1)
        )
    )


def test_credit_balance_cannot_go_negative_in_database():
    student = StudentFactory()
    _refused_by_database(lambda: User.objects.filter(pk=student.pk).update(credit_balance=-1))


def test_one_live_booking_per_student_and_session_in_database():
    booking = BookingFactory()
    _refused_by_database(
        lambda: BookingFactory(
            student=booking.student, session=booking.session, status="waitlisted"
        )
    )
    # A cancelled booking does not count: the student may book again.
    BookingFactory(student=booking.student, session=booking.session, status="cancelled")


def test_rating_outside_1_to_5_refused_by_database():
    _refused_by_database(lambda: FeedbackFactory(rating=6))
    _refused_by_database(lambda: FeedbackFactory(rating=0))


def test_one_feedback_per_student_and_session_in_database():
    feedback = FeedbackFactory()
    _refused_by_database(
        lambda: FeedbackFactory(session=feedback.session, student=feedback.student)
    )


def _errors_of(session: Session) -> dict:
    with pytest.raises(ValidationError) as caught:
        validate_session(session)
    return caught.value.message_dict


def test_clean_names_the_field_of_each_rule():
    semester = SemesterFactory()
    session = SessionFactory.build(semester=semester, instructor=semester.master_instructor)
    session.date_end = session.date_start - timedelta(hours=1)
    assert "date_end" in _errors_of(session)

    session = SessionFactory.build(semester=semester, instructor=semester.master_instructor)
    session.date_start = timezone.make_aware(
        datetime.combine(semester.start_date - timedelta(days=1), datetime.min.time())
    )
    assert "date_start" in _errors_of(session)

    session = SessionFactory.build(semester=semester, instructor=semester.master_instructor)
    session.meeting_link = "https://meet.example.test/x"
    assert "meeting_link" in _errors_of(session)

    session = SessionFactory.build(
        semester=semester,
        instructor=semester.master_instructor,
        session_type="virtual",
        meeting_link="ftp://files.example.test/x",
    )
    assert "meeting_link" in _errors_of(session)

    session = SessionFactory.build(semester=semester, instructor=semester.master_instructor)
    session.group = GroupFactory()  # another semester's group
    assert "group" in _errors_of(session)

    session = SessionFactory.build(
        semester=semester, instructor=semester.master_instructor, capacity=0
    )
    assert "capacity" in _errors_of(session)


def test_link_is_cleared_when_session_stops_being_virtual():
    session = SessionFactory(session_type="virtual", meeting_link="https://meet.example.test/a")
    session = Session.objects.get(pk=session.pk)
    session.session_type = Session.SessionType.ON_SITE
    validate_session(session)
    assert session.meeting_link == ""
    assert session.location == session.semester.location


def test_location_defaults_to_semester_for_on_site_and_hybrid():
    semester = SemesterFactory(location="Hall B")
    for kind in ("on_site", "hybrid"):
        session = SessionFactory.build(semester=semester, session_type=kind, location="")
        validate_session(session)
        assert session.location == "Hall B"
    virtual = SessionFactory.build(semester=semester, session_type="virtual", location="")
    validate_session(virtual)
    assert virtual.location == ""


@pytest.mark.parametrize("time_zone", ["Asia/Tokyo", "Pacific/Auckland"])
def test_semester_bounds_use_local_dates(settings, time_zone):
    settings.TIME_ZONE = time_zone
    semester = SemesterFactory(start_date=date(2031, 3, 1), end_date=date(2031, 6, 30))
    with timezone.override(time_zone):
        late_evening = timezone.make_aware(datetime(2031, 6, 30, 22, 0))
        # 23:30 local on the last day is the same day locally, but June 30 14:30 UTC or earlier.
        session = SessionFactory.build(
            semester=semester,
            date_start=late_evening,
            date_end=late_evening + timedelta(minutes=90),
        )
        assert session.date_end.astimezone(timezone.get_current_timezone()).hour == 23
        validate_session(session)

        day_before = timezone.make_aware(datetime(2031, 2, 28, 23, 0))
        early = SessionFactory.build(
            semester=semester, date_start=day_before, date_end=day_before + timedelta(hours=2)
        )
        assert "date_start" in _errors_of(early)


def test_a_group_and_a_series_are_named_with_their_semester_once_they_have_one():
    """The admin's lists and the pages' pickers name them so: the same name recurs each
    term. Before a semester is chosen (an unsaved form), the name alone."""
    semester = SemesterFactory(code="AUT26")
    group = GroupFactory(semester=semester, name="Juniors")
    series = SessionSeries(semester=semester, title="Serve drills")

    assert (str(group), str(series)) == ("AUT26 / Juniors", "Serve drills (AUT26)")
    assert (str(Group(name="Juniors")), str(SessionSeries(title="Serve drills"))) == (
        "Juniors",
        "Serve drills",
    )
