from django.conf import settings
from django.db import models
from django.db.models import Q

from activity.changes import LoadedValues


class Attendance(models.Model):
    class Status(models.TextChoices):
        PRESENT = "present", "Present"
        LATE = "late", "Late"
        ABSENT = "absent", "Absent"
        EXCUSED = "excused", "Excused"

    session = models.ForeignKey(
        "scheduling.Session", on_delete=models.PROTECT, related_name="attendance"
    )
    student = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="attendance"
    )
    status = models.CharField(max_length=16, choices=Status.choices)
    marked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    marked_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["session", "student"]
        verbose_name_plural = "attendance"
        constraints = [
            # Also the index for a session's attendance: WHERE session_id = ?.
            models.UniqueConstraint(
                fields=["session", "student"], name="attendance_one_per_student_and_session"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.student} @ {self.session}: {self.status}"


class Feedback(models.Model):
    session = models.ForeignKey(
        "scheduling.Session", on_delete=models.PROTECT, related_name="feedback"
    )
    student = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="feedback"
    )
    rating = models.PositiveSmallIntegerField()
    comment = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "feedback"
        constraints = [
            # Also the index for a session's feedback: WHERE session_id = ?.
            models.UniqueConstraint(
                fields=["session", "student"], name="feedback_one_per_student_and_session"
            ),
            models.CheckConstraint(
                condition=Q(rating__gte=1, rating__lte=5), name="feedback_rating_1_to_5"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.student} on {self.session}: {self.rating}"


class Project(LoadedValues, models.Model):
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    semester = models.ForeignKey(
        "scheduling.Semester", on_delete=models.PROTECT, related_name="projects"
    )
    sessions = models.ManyToManyField(
        "scheduling.Session", through="ProjectSession", related_name="projects", blank=True
    )

    class Meta:
        ordering = ["title", "id"]

    def __str__(self) -> str:
        return self.title


class ProjectSession(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE)
    session = models.ForeignKey(
        "scheduling.Session", on_delete=models.PROTECT, related_name="project_links"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "session"], name="project_session_unique"),
        ]
        indexes = [
            # project_count per session: WHERE session_id = ?.
            models.Index(fields=["session"], name="project_session_session_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.project} / {self.session}"
