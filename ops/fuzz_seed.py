"""The fuzzer's world: `python -m ops.fuzz_seed` with DATABASE_URL set, after migrate.

Two users per role (student, instructor, master instructor, staff), "-a" and "-b",
each owning objects of its own, so that one of a pair reading or changing the
other's objects is a finding. Prints {username: API token} as JSON.
"""

import functools
import json
from datetime import timedelta
from typing import Any

import django

PAIR = ("a", "b")
ROLES = ("student", "instructor", "master", "staff")
PASSWORD = "fuzz-Password-1"


def seed() -> dict[str, str]:
    from django.utils import timezone
    from rest_framework.authtoken.models import Token

    from accounts.models import User
    from bookings.services import book_session, grant_credits
    from engagement.services import attendance_record, feedback_give, project_create
    from scheduling.models import Group, Specialization
    from scheduling.services import semester_create

    def user(role: str, side: str, **fields: Any) -> User:
        account = User.objects.create_user(
            username=f"{role}-{side}",
            password=PASSWORD,
            role=User.Role.STUDENT if role == "student" else User.Role.INSTRUCTOR,
            is_staff=role == "staff",
            **fields,
        )
        return account

    specialization = Specialization.objects.create(code="FUZZ", name="Fuzzing")
    staff = {side: user("staff", side) for side in PAIR}
    today = timezone.localdate()
    now = timezone.now()
    for side in PAIR:
        student = user("student", side, specialization=specialization)
        instructor = user("instructor", side)
        master = user("master", side)
        grant_credits(student=student, amount=50, by=staff[side], note="Fuzzing")
        semester = semester_create(
            by=staff[side],
            code=f"FUZZ-{side.upper()}",
            name=f"Fuzzing {side}",
            start_date=today - timedelta(days=30),
            end_date=today + timedelta(days=120),
            location="Hall",
            is_active=True,
            master_instructor=master,
        )
        group = Group.objects.create(name=f"Group {side}", semester=semester)
        group.members.add(student)

        # Keyword arguments bind this turn's semester, master and instructor.
        session = functools.partial(
            _session, now=now, semester=semester, master=master, instructor=instructor
        )
        upcoming = session(3)
        session(4, session_type="virtual", meeting_link=f"https://meet.example.com/{side}")
        session(5, group=group)
        book_session(student=student, session=upcoming, by=student)
        # A past session with a confirmed booking, attendance and feedback: created as
        # upcoming and booked, then moved into the past (booking needs a future session).
        past = session(6)
        book_session(student=student, session=past, by=student)
        type(past).objects.filter(pk=past.pk).update(
            date_start=now - timedelta(days=2), date_end=now - timedelta(days=2, hours=-1)
        )
        past.refresh_from_db()
        attendance_record(session=past, student=student, status="present", by=master)
        feedback_give(session=past, student=student, rating=4, comment=f"From {side}")
        project_create(
            by=master, semester=semester, title=f"Project {side}", sessions=[upcoming, past]
        )
    return {
        account.username: Token.objects.create(user=account).key
        for account in User.objects.filter(username__regex=r"^[a-z]+-[ab]$")
    }


def _session(days: float, *, now: Any, semester: Any, master: Any, **fields: Any) -> Any:
    """A one-hour session `days` from now in `semester`, created by its master instructor."""
    from scheduling.services import session_create

    start = now + timedelta(days=days)
    fields.setdefault("session_type", "on_site")
    return session_create(
        by=master,
        semester=semester,
        title=f"{semester.name}, day {days:+}",
        date_start=start,
        date_end=start + timedelta(hours=1),
        capacity=10,
        credit_cost=1,
        **fields,
    )


if __name__ == "__main__":
    django.setup()
    print(json.dumps(seed()))
