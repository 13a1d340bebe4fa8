"""The reports rows of `make bench`: the register of a 30-student group and the semester
dashboard, on the benchmark semester at its largest size (README, Reports).

Measured in-process through Django's test client (the pages need a login session,
not a token): the time is the view's, queries and template included, without the
HTTP hop that the list rows measure through gunicorn.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

GROUP_STUDENTS = 30
GROUP_SESSIONS = 40


@transaction.atomic
def ensure_group() -> tuple[int, int]:
    """A group of 30 bench students with 40 sessions of its own, every member booked and
    the past sessions marked; (semester id, group id). Idempotent."""
    from accounts.models import User
    from bookings.models import Booking
    from engagement.models import Attendance
    from scheduling.models import Group, Semester, Session

    semester = Semester.objects.get(code="BENCH")
    group, created = Group.objects.get_or_create(name="Bench group", semester=semester)
    if not created:
        return semester.pk, group.pk
    master = semester.master_instructor
    students = list(User.objects.filter(role="student").order_by("id")[:GROUP_STUDENTS])
    group.members.set(students)
    base = timezone.now() - timedelta(days=GROUP_SESSIONS // 2 * 3)
    sessions = Session.objects.bulk_create(
        Session(
            title=f"Group session {n}",
            semester=semester,
            instructor=master,
            group=group,
            date_start=base + timedelta(days=3 * n),
            date_end=base + timedelta(days=3 * n, hours=1),
            capacity=GROUP_STUDENTS,
            credit_cost=0,
            location="Bench hall",
            # Beside the other scenarios' sessions of the same instructor.
            allow_overlap=True,
            overlap_reason="benchmark",
        )
        for n in range(GROUP_SESSIONS)
    )
    now = timezone.now()
    Booking.objects.bulk_create(
        Booking(student=student, session=session, status="confirmed")
        for session in sessions
        for student in students
    )
    Attendance.objects.bulk_create(
        Attendance(
            session=session,
            student=student,
            marked_by=master,
            status=("present", "present", "late", "absent", "excused")[(index + n) % 5],
        )
        for n, session in enumerate(sessions)
        if session.date_start <= now
        for index, student in enumerate(students)
        if (index + n) % 7  # some booked but never marked: no-shows
    )
    return semester.pk, group.pk


def measure(*args: Any) -> list[dict[str, Any]]:
    from django.conf import settings
    from django.test.utils import override_settings

    # Production settings expect collected, hashed static files; the in-process pages only
    # need their URLs, so the plain storage stands in (no collectstatic in the benchmark).
    storages = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    with override_settings(STORAGES=storages):
        return _measure(*args)


def _measure(
    timed: Callable[[Callable[[], object], int, int], dict[str, float]], repeats: int
) -> list[dict[str, Any]]:
    from django.db import connection
    from django.test import Client

    from accounts.models import User
    from scheduling.models import Session

    semester_id, group_id = ensure_group()
    client = Client()
    client.force_login(User.objects.get(username="bench-master"))
    sessions = Session.objects.filter(semester_id=semester_id).count()
    targets = [
        (
            "register page, 30-student group",
            f"/reports/semesters/{semester_id}/register/?group={group_id}",
        ),
        (
            "register API, 30-student group",
            f"/api/v1/semesters/{semester_id}/register/?group={group_id}",
        ),
        (
            "register XLSX, 30-student group",
            f"/reports/semesters/{semester_id}/register.xlsx?group={group_id}",
        ),
        ("dashboard page, whole semester", f"/reports/semesters/{semester_id}/dashboard/"),
    ]
    rows = []
    for label, path in targets:
        response = client.get(path)
        assert response.status_code == 200, response.content[:500]
        # Counted by an execute wrapper: the query log is emptied by every request and
        # left off with DEBUG off, as here.
        statements: list[str] = []
        with connection.execute_wrapper(
            lambda execute, sql, params, many, context, seen=statements: (
                seen.append(sql) or execute(sql, params, many, context)
            )
        ):
            client.get(path)
        timing = timed(lambda path=path: client.get(path), repeats, 2)
        rows.append({"report": label, "sessions": sessions, "queries": len(statements), **timing})
    return rows


def markdown(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| report | sessions in the semester | queries | p50 / p95 (ms) |",
        "|---|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row['report']} | {row['sessions']:,} | {row['queries']} "
            f"| {row['p50_ms']} / {row['p95_ms']} |"
        )
    return "\n".join(lines)
