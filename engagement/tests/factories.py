import factory

from accounts.tests.factories import StudentFactory
from engagement.models import Attendance, Feedback, Project, ProjectSession
from scheduling.tests.factories import PastSessionFactory, SemesterFactory


class AttendanceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Attendance

    session = factory.SubFactory(PastSessionFactory)
    student = factory.SubFactory(StudentFactory)
    status = Attendance.Status.PRESENT
    marked_by = factory.LazyAttribute(lambda attendance: attendance.session.instructor)


class FeedbackFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Feedback

    session = factory.SubFactory(PastSessionFactory)
    student = factory.SubFactory(StudentFactory)
    rating = 5
    comment = "Clear and well paced."


class ProjectFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Project

    title = factory.Sequence(lambda n: f"Project {n}")
    description = "A project spanning several sessions."
    semester = factory.SubFactory(SemesterFactory)


class ProjectSessionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProjectSession

    project = factory.SubFactory(ProjectFactory)
    session = factory.SubFactory(PastSessionFactory)
