"""The load test's data, written through the services: `python -m loadtest.seed SPEC_JSON`
with DATABASE_URL set. Prints the session ids and the students' API tokens as JSON."""

import json
import sys
from datetime import timedelta
from typing import Any

import django


def seed(spec: dict[str, Any]) -> dict[str, list]:
    from django.contrib.auth.hashers import make_password
    from django.utils import timezone
    from rest_framework.authtoken.models import Token

    from accounts.models import User
    from bookings.services import grant_credits
    from scheduling.services import semester_create, session_create

    unusable = make_password(None)
    staff = User.objects.create(
        username=spec["staff"], is_staff=True, role=User.Role.INSTRUCTOR, password=unusable
    )
    today = timezone.localdate()
    semester = semester_create(
        by=staff,
        code="LOAD",
        name="Load test",
        start_date=today - timedelta(days=7),
        end_date=today + timedelta(days=120),
        location="Main hall",
        is_active=True,
        master_instructor=staff,
    )
    # From the day after tomorrow on: every session stays open for the whole run, and
    # a cancellation is early enough to be refunded.
    first = (timezone.now() + timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
    sessions = [
        session_create(
            by=staff,
            semester=semester,
            title=f"Load session {n}",
            instructor=staff,
            session_type="on_site",
            date_start=first + timedelta(hours=3 * n),
            date_end=first + timedelta(hours=3 * n + 1),
            capacity=spec["capacity"],
            credit_cost=1,
            location="Main hall",
        ).pk
        for n in range(spec["sessions"])
    ]
    students = User.objects.bulk_create(
        User(username=f"load-student-{n}", role=User.Role.STUDENT, password=unusable)
        for n in range(spec["students"])
    )
    tokens = []
    for student in students:
        grant_credits(student=student, amount=spec["credits"], by=staff, note="Load test")
        tokens.append(Token.objects.create(user=student).key)
    return {"sessions": sessions, "tokens": tokens}


if __name__ == "__main__":
    django.setup()
    print(json.dumps(seed(json.loads(sys.argv[1]))))
