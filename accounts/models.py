from django.contrib.auth.models import AbstractUser
from django.db import models


class User(AbstractUser):
    class Role(models.TextChoices):
        STUDENT = "student", "Student"
        INSTRUCTOR = "instructor", "Instructor"

    role = models.CharField(max_length=16, choices=Role.choices, default=Role.STUDENT)
    specialization = models.ForeignKey(
        "scheduling.Specialization",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="students",
    )
    # Moved only by bookings.services, always together with a CreditTransaction row.
    credit_balance = models.IntegerField(default=0, editable=False)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(credit_balance__gte=0), name="user_credit_balance_non_negative"
            ),
        ]

    @property
    def is_student(self) -> bool:
        return self.role == self.Role.STUDENT

    @property
    def is_instructor(self) -> bool:
        return self.role == self.Role.INSTRUCTOR
