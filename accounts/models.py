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
    # Emails a person may turn off (notifications.kinds); money and cancellations by
    # the academy are always sent.
    notify_reminders = models.BooleanField("reminders before my sessions", default=True)
    notify_waitlist_changes = models.BooleanField(
        "changes to sessions I am waitlisted on", default=True
    )
    notify_credit_grants = models.BooleanField("credits added to my balance", default=True)

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
