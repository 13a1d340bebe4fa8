import factory

from accounts.models import User

DEFAULT_PASSWORD = "correct-horse-battery"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.test")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    role = User.Role.STUDENT
    password = factory.django.Password(DEFAULT_PASSWORD)


class StudentFactory(UserFactory):
    username = factory.Sequence(lambda n: f"student{n}")
    role = User.Role.STUDENT


class InstructorFactory(UserFactory):
    username = factory.Sequence(lambda n: f"instructor{n}")
    role = User.Role.INSTRUCTOR


class StaffFactory(UserFactory):
    username = factory.Sequence(lambda n: f"staff{n}")
    role = User.Role.INSTRUCTOR
    is_staff = True
    is_superuser = True
