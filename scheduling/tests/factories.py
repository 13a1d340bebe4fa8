from datetime import datetime, timedelta

import factory
from django.utils import timezone

from accounts.tests.factories import InstructorFactory
from scheduling.models import Group, InstructorQualification, Semester, Session, Specialization


class SpecializationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Specialization
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"SPEC_{n}")
    name = factory.LazyAttribute(lambda spec: spec.code.replace("_", " ").title())


class QualificationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = InstructorQualification

    instructor = factory.SubFactory(InstructorFactory)
    specialization = factory.SubFactory(SpecializationFactory)
    valid_from = factory.LazyFunction(lambda: timezone.localdate() - timedelta(days=365))
    valid_until = None


class SemesterFactory(factory.django.DjangoModelFactory):
    """An active semester around today, so sessions a few days ahead fit in it."""

    class Meta:
        model = Semester

    code = factory.Sequence(lambda n: f"SEM{n:03d}")
    name = factory.LazyAttribute(lambda semester: f"Semester {semester.code}")
    start_date = factory.LazyFunction(lambda: timezone.localdate() - timedelta(days=60))
    end_date = factory.LazyFunction(lambda: timezone.localdate() + timedelta(days=120))
    location = "Main campus, room 1"
    is_active = True
    master_instructor = factory.SubFactory(InstructorFactory)


class GroupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Group
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Group {n}")
    semester = factory.SubFactory(SemesterFactory)

    @factory.post_generation
    def members(self, create: bool, extracted: list | None, **kwargs: object) -> None:
        if create and extracted:
            self.members.set(extracted)


def _clashes(instructor_id: int, start: datetime, length: timedelta):
    """The instructor's scheduled sessions that would overlap [start, start + length)."""
    return Session.objects.filter(
        instructor_id=instructor_id,
        status=Session.Status.SCHEDULED,
        allow_overlap=False,
        date_start__lt=start + length,
        date_end__gt=start,
    )


def first_free_hour(instructor_id: int, start: datetime, length: timedelta) -> datetime:
    """`start`, or the first whole hour after it at which the instructor is free.

    Sessions of one instructor may not overlap (on PostgreSQL an exclusion
    constraint says so), so factory sessions of a shared instructor queue up
    one after another instead of all sitting at the same hour.
    """
    while True:
        clashes = _clashes(instructor_id, start, length).order_by("-date_end")
        clash = clashes.values_list("date_end", flat=True).first()
        if clash is None:
            return start
        start = clash.replace(minute=0, second=0, microsecond=0)
        if start < clash:
            start += timedelta(hours=1)


def last_free_hour(instructor_id: int, start: datetime, length: timedelta) -> datetime:
    """`start`, or the last whole hour before it at which the instructor is free: past
    sessions queue backwards, so that however many a test makes, they stay past."""
    while True:
        clashes = _clashes(instructor_id, start, length).order_by("date_start")
        clash = clashes.values_list("date_start", flat=True).first()
        if clash is None:
            return start
        start = (clash - length).replace(minute=0, second=0, microsecond=0)


SESSION_LENGTH = timedelta(hours=1, minutes=30)


class SessionFactory(factory.django.DjangoModelFactory):
    """A scheduled on-site session three days ahead (or at its instructor's next free
    hour after that), in its semester."""

    class Meta:
        model = Session

    title = factory.Sequence(lambda n: f"Session {n}")
    description = "Drills and match play."
    semester = factory.SubFactory(SemesterFactory)
    instructor = factory.LazyAttribute(lambda session: session.semester.master_instructor)
    session_type = Session.SessionType.ON_SITE
    status = Session.Status.SCHEDULED
    date_start = factory.LazyAttribute(
        lambda session: first_free_hour(
            session.instructor.pk,
            (timezone.now() + timedelta(days=3)).replace(minute=0, second=0, microsecond=0),
            SESSION_LENGTH,
        )
    )
    date_end = factory.LazyAttribute(lambda session: session.date_start + SESSION_LENGTH)
    capacity = 20
    credit_cost = 1
    location = factory.LazyAttribute(
        lambda session: (
            "" if session.session_type == Session.SessionType.VIRTUAL else session.semester.location
        )
    )
    meeting_link = factory.LazyAttribute(
        lambda session: (
            "https://meet.example.test/room"
            if session.session_type == Session.SessionType.VIRTUAL
            else ""
        )
    )


class PastSessionFactory(SessionFactory):
    date_start = factory.LazyAttribute(
        lambda session: last_free_hour(
            session.instructor.pk,
            (timezone.now() - timedelta(days=2)).replace(minute=0, second=0, microsecond=0),
            SESSION_LENGTH,
        )
    )
