"""Bulk data at the shape of SPEC §8: per session 20 bookings, 10 attendance rows, 5 feedbacks,
and a credit ledger: one charge per booking and the grants that paid for them.

Rows are written with bulk_create and INSERT ... SELECT, not the services: this is data
for reading, built to be consistent (no session over capacity, every balance the sum of
its ledger rows, nobody waitlisted while a seat is free).
"""

import os
import random
import sys
from datetime import timedelta
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

if TYPE_CHECKING:
    from scheduling.models import Semester

BOOKINGS_PER_SESSION = 20
CONFIRMED_PER_SESSION = 18  # the other two are cancelled
ATTENDANCE_PER_SESSION = 10
FEEDBACK_PER_SESSION = 5
STUDENTS = 400
BATCH = 5000


def environment(database_url: str) -> dict[str, str]:
    """What the benchmarks run Django with: production settings on their scratch database,
    with the throttles out of the way of the measuring client."""
    from ops.local_server import production_environment

    redis = {"REDIS_URL": os.environ["REDIS_URL"]} if os.environ.get("REDIS_URL") else {}
    return production_environment(
        database_url,
        # testserver: the query count goes through Django's test client.
        ALLOWED_HOSTS="127.0.0.1,localhost,testserver",
        THROTTLE_USER_RATE="100000000/minute",
        THROTTLE_ANON_RATE="100000000/minute",
        **redis,
    )


def prepare_database() -> str:
    """Migrate the scratch database and create the people; the staff member's API token."""
    from django.core.management import call_command
    from rest_framework.authtoken.models import Token

    call_command("migrate", verbosity=0)
    master, _, _ = ensure_people()
    return Token.objects.get_or_create(user=master)[0].key


def grow_and_analyze(total_sessions: int) -> None:
    """grow_to(), then what autovacuum would have done by now on a live system."""
    from django.db import connection

    grow_to(total_sessions, f"{total_sessions:,}")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            # Fresh statistics and a visibility map, so index-only scans stay index-only.
            cursor.execute("VACUUM ANALYZE")


def _progress(label: str, done: int, total: int) -> None:
    sys.stderr.write(f"\r  loading {label}: {done:,}/{total:,} sessions")
    sys.stderr.flush()
    if done == total:
        sys.stderr.write("\n")


@transaction.atomic
def ensure_people():
    from accounts.models import User
    from scheduling.models import Semester, Specialization

    Specialization.objects.get_or_create(code="BENCH", defaults={"name": "Bench"})
    master, _ = User.objects.get_or_create(
        username="bench-master", defaults={"role": "instructor", "is_staff": True}
    )
    if User.objects.filter(role="student").count() < STUDENTS:
        User.objects.bulk_create(
            User(username=f"bench-student-{n}", role="student") for n in range(STUDENTS)
        )
    today = timezone.localdate()
    semester, _ = Semester.objects.get_or_create(
        code="BENCH",
        defaults={
            "name": "Benchmark semester",
            "start_date": today - timedelta(days=400),
            "end_date": today + timedelta(days=400),
            "location": "Bench hall",
            "master_instructor": master,
        },
    )
    return master, semester, list(User.objects.filter(role="student").order_by("id"))


def grow_to(total_sessions: int, label: str) -> None:
    """Add sessions (with their rows) until there are `total_sessions`."""
    from bookings.models import Booking
    from engagement.models import Attendance, Feedback
    from scheduling.models import Session

    master, semester, students = ensure_people()
    existing = Session.objects.count()
    rng = random.Random(existing)
    base = timezone.now() - timedelta(days=300)
    for start in range(existing, total_sessions, 1000):
        stop = min(start + 1000, total_sessions)
        with transaction.atomic():
            sessions = Session.objects.bulk_create(
                Session(
                    title=f"Bench session {n}",
                    description="Benchmark data.",
                    semester=semester,
                    instructor=master,
                    session_type=("on_site", "virtual", "hybrid")[n % 3],
                    date_start=base + timedelta(minutes=90 * n),
                    date_end=base + timedelta(minutes=90 * n + 60),
                    capacity=20,
                    credit_cost=0,
                    location="" if n % 3 == 1 else "Bench hall",
                    meeting_link="https://meet.example.test/bench" if n % 3 == 1 else "",
                )
                for n in range(start, stop)
            )
            bookings, attendance, feedback = [], [], []
            for session in sessions:
                picked = rng.sample(students, BOOKINGS_PER_SESSION)
                for index, student in enumerate(picked):
                    confirmed = index < CONFIRMED_PER_SESSION
                    bookings.append(
                        Booking(
                            student=student,
                            session=session,
                            status="confirmed" if confirmed else "cancelled",
                            cancelled_at=None if confirmed else session.date_start,
                        )
                    )
                for index, student in enumerate(picked[:ATTENDANCE_PER_SESSION]):
                    attendance.append(
                        Attendance(
                            session=session,
                            student=student,
                            marked_by=master,
                            status=("present", "late", "present", "absent", "excused")[index % 5],
                        )
                    )
                for student in picked[:FEEDBACK_PER_SESSION]:
                    feedback.append(
                        Feedback(
                            session=session, student=student, rating=rng.randint(1, 5), comment="ok"
                        )
                    )
            Booking.objects.bulk_create(bookings, batch_size=BATCH)
            Attendance.objects.bulk_create(attendance, batch_size=BATCH)
            Feedback.objects.bulk_create(feedback, batch_size=BATCH)
        _progress(label, stop, total_sessions)
    charge_bookings(semester)


def charge_bookings(semester: "Semester") -> None:
    """One charge per booking of the semester not charged yet (the session's credit cost,
    or 1 for the free bench sessions, at the booking's created_at), and per student a
    grant of what those charges took, just before the first: balances stay at the sum of
    their rows (zero) and check_integrity finds nothing. Cancelled bookings keep their
    charge unrefunded, which the rules allow. Three statements whatever the size."""
    from django.db import connection

    from bookings.models import Booking, CreditTransaction
    from scheduling.models import Session

    ledger = connection.ops.quote_name(CreditTransaction._meta.db_table)
    bookings = connection.ops.quote_name(Booking._meta.db_table)
    sessions = connection.ops.quote_name(Session._meta.db_table)
    cost = "CASE WHEN s.credit_cost > 0 THEN s.credit_cost ELSE 1 END"
    uncharged = f"""
        FROM {bookings} b JOIN {sessions} s ON s.id = b.session_id
        WHERE s.semester_id = %s AND b.credits_charged = 0
          AND NOT EXISTS (SELECT 1 FROM {ledger} t WHERE t.booking_id = b.id)"""
    columns = "(user_id, amount, kind, booking_id, note, created_by_id, created_at)"
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {ledger} {columns} SELECT b.student_id, SUM({cost}), 'grant', NULL, "
            f"'bench', %s, MIN(b.created_at) {uncharged} GROUP BY b.student_id",
            [semester.master_instructor_id, semester.pk],
        )
        cursor.execute(
            f"INSERT INTO {ledger} {columns} SELECT b.student_id, -({cost}), 'booking', b.id, "
            f"'', NULL, b.created_at {uncharged}",
            [semester.pk],
        )
        cursor.execute(
            f"UPDATE {bookings} SET credits_charged = (SELECT {cost} FROM {sessions} s "
            f"WHERE s.id = {bookings}.session_id) WHERE credits_charged = 0 AND id IN "
            f"(SELECT booking_id FROM {ledger} WHERE kind = 'booking')",
        )
