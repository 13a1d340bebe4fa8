import zoneinfo

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models


def time_zone_choices() -> list[tuple[str, str]]:
    """Every IANA zone this machine knows, as form choices (a callable: not frozen into
    the migrations, and the list follows the system's tzdata)."""
    return [(name, name.replace("_", " ")) for name in sorted(zoneinfo.available_timezones())]


def default_time_zone() -> str:
    return settings.TIME_ZONE


# `User.display_name` in SQL, for lists that read it in the query that selects their
# rows; `{table}` is the alias of the user's table. Keep the two in step.
DISPLAY_NAME_SQL = (
    "COALESCE(NULLIF(TRIM({table}.first_name || ' ' || {table}.last_name), ''), {table}.username)"
)


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
    # The zone every page shows this person's times in (accounts.middleware activates it).
    time_zone = models.CharField(
        max_length=64, choices=time_zone_choices, default=default_time_zone
    )

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

    @property
    def zone(self) -> zoneinfo.ZoneInfo | None:
        """This person's zone, or None for one removed from tzdata since it was chosen
        (callers then use the academy's)."""
        try:
            return zoneinfo.ZoneInfo(self.time_zone) if self.time_zone else None
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            return None

    @property
    def display_name(self) -> str:
        """How people are named on every page, in the API and the admin: the full name,
        or the username when no name is given (`DISPLAY_NAME_SQL` in a query)."""
        return self.get_full_name() or self.username
