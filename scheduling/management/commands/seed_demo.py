"""Idempotent demo data: run it twice and nothing is added the second time."""

from datetime import datetime, time, timedelta

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from bookings.models import Booking
from bookings.services import book_session, grant_credits
from engagement.models import Attendance, Feedback, Project
from engagement.services import attendance_record, feedback_give, project_create
from scheduling.models import InstructorQualification, Semester, Session, Specialization

DEMO_PASSWORD = "practica-demo"
STUDENT_COUNT = 12


def _at(day_offset: int, hour: int) -> datetime:
    day = timezone.localdate() + timedelta(days=day_offset)
    return timezone.make_aware(datetime.combine(day, time(hour, 0)))


class Command(BaseCommand):
    help = "Load demo users, a semester, sessions of every type, bookings, attendance and feedback."

    def _user(self, username: str, **fields: object) -> User:
        user, created = User.objects.get_or_create(username=username, defaults=fields)
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["password"])
        return user

    @transaction.atomic
    def handle(self, *args: object, **options: object) -> None:
        coach, _ = Specialization.objects.get_or_create(
            code="LFA_COACH", defaults={"name": "Coach"}
        )
        player, _ = Specialization.objects.get_or_create(
            code="LFA_PLAYER", defaults={"name": "Player"}
        )
        admin = self._user(
            "admin",
            is_staff=True,
            is_superuser=True,
            role=User.Role.INSTRUCTOR,
            email="admin@practica.test",
            first_name="Ada",
            last_name="Admin",
        )
        master = self._user(
            "master",
            role=User.Role.INSTRUCTOR,
            first_name="Maria",
            last_name="Master",
            email="master@practica.test",
        )
        coach_instructor = self._user(
            "coach",
            role=User.Role.INSTRUCTOR,
            first_name="Carl",
            last_name="Coach",
            email="coach@practica.test",
        )
        for instructor in (master, coach_instructor):
            InstructorQualification.objects.get_or_create(
                instructor=instructor,
                specialization=coach,
                defaults={"valid_from": timezone.localdate() - timedelta(days=365)},
            )
        students = [
            self._user(
                f"student{n}",
                role=User.Role.STUDENT,
                first_name=f"Student{n}",
                last_name="Demo",
                email=f"student{n}@practica.test",
                specialization=coach if n % 2 else player,
            )
            for n in range(1, STUDENT_COUNT + 1)
        ]
        for student in students:
            if not student.credit_transactions.exists():
                grant_credits(student=student, amount=20, note="Welcome credits", by=admin)

        today = timezone.localdate()
        semester, _ = Semester.objects.get_or_create(
            code="DEMO",
            defaults={
                "name": "Demo semester",
                "start_date": today - timedelta(days=30),
                "end_date": today + timedelta(days=90),
                "location": "Main campus, hall A",
                "master_instructor": master,
            },
        )
        plans = [
            # title, type, day offset, capacity, cost, target, bookers, past
            ("Footwork fundamentals", "on_site", 3, 20, 1, None, 8, False),
            ("Tactics online", "virtual", 4, 30, 1, None, 5, False),
            ("Coaching clinic (hybrid)", "hybrid", 5, 4, 2, coach, 6, False),
            ("Small-sided games", "on_site", 6, 3, 1, None, 5, False),
            ("Video review", "virtual", 7, 15, 0, None, 3, False),
            ("Season kick-off", "on_site", -7, 10, 1, None, 6, True),
            ("Recovery and mobility", "hybrid", -3, 12, 1, None, 5, True),
        ]
        for title, kind, offset, capacity, cost, target, bookers, past in plans:
            session = Session.objects.filter(semester=semester, title=title).first()
            if session:
                continue
            session = Session(
                title=title,
                description=f"{title} for all levels.",
                semester=semester,
                instructor=coach_instructor if kind == "hybrid" else master,
                session_type=kind,
                # A past session is booked while upcoming, a month ahead, clear of the
                # upcoming ones: an instructor's sessions may not overlap.
                date_start=_at(abs(offset) + (30 if past else 0), 17),
                date_end=_at(abs(offset) + (30 if past else 0), 19),
                capacity=capacity,
                credit_cost=cost,
                target_specialization=target,
                mixed_specialization=target is not None,
                meeting_link="https://meet.practica.test/" + title.split()[0].lower()
                if kind == "virtual"
                else "",
            )
            session.full_clean()
            session.save()
            for student in students[:bookers]:
                book_session(student=student, session=session, by=student)
            if past:
                # Booked while upcoming, then moved to when it really took place.
                Session.objects.filter(pk=session.pk).update(
                    date_start=_at(offset, 17), date_end=_at(offset, 19)
                )
                session.refresh_from_db()
                confirmed = Booking.objects.filter(session=session, status="confirmed")
                statuses = ["present", "present", "late", "absent", "excused", "present"]
                for booking, status in zip(confirmed.order_by("id"), statuses, strict=False):
                    attendance_record(
                        session=session,
                        student=booking.student,
                        status=status,
                        by=session.instructor,
                    )
                for number, attendance in enumerate(
                    Attendance.objects.filter(session=session, status__in=["present", "late"])
                ):
                    feedback_give(
                        session=session,
                        student=attendance.student,
                        rating=5 - number % 2,
                        comment="Great session, thanks!",
                    )
        if not Project.objects.filter(semester=semester, title="Spring showcase").exists():
            project_create(
                by=master,
                semester=semester,
                title="Spring showcase",
                description="Sessions that build up to the end-of-semester showcase.",
                sessions=Session.objects.filter(semester=semester)[:3],
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data ready: {User.objects.count()} users, "
                f"{Session.objects.count()} sessions, "
                f"{Booking.objects.count()} bookings, {Feedback.objects.count()} feedbacks."
            )
        )
        self.stdout.write(
            f"Logins (password '{DEMO_PASSWORD}'): admin (staff), master (master instructor), "
            f"coach (instructor), student1..student{STUDENT_COUNT} (students)."
        )
