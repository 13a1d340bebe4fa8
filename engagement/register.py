"""The attendance register of a semester: students down, sessions across.

It lives in engagement because attendance is engagement's record; it reads the
sessions (scheduling) and the confirmed bookings (bookings), both below it.

Three queries whatever the size: the students, the sessions, and the cells (one
statement, a UNION of the confirmed bookings with their mark and the marks that
have no confirmed booking). Totals are summed from those cells in Python, so the
page, the CSV, the XLSX and the API read the very same numbers.

Definitions (README, "Reports"):
- Cancelled sessions are left out: nothing was held, nobody could attend.
- A cell is the attendance mark (present, late, excused, absent); without a mark,
  `booked` for a confirmed booking, and empty for anything else (no booking, a
  waitlisted or cancelled one).
- No-show: a confirmed booking for a session that has started and no present or
  late mark (so an absent, excused or missing mark).
- Attendance rate: (present + late) over the started sessions the student was
  booked on or marked for, excused ones left out of the count; None when there
  are none. A rate under `settings.ATTENDANCE_WARNING_RATE` flags the student.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db.models import BooleanField, CharField, Exists, OuterRef, Q, QuerySet, Subquery, Value
from django.utils import timezone

from accounts.models import User
from bookings.models import Booking
from scheduling.models import Group, Semester, Session, Specialization

from .models import Attendance

BOOKED = "booked"
NOT_BOOKED = ""
ATTENDED = (Attendance.Status.PRESENT, Attendance.Status.LATE)
# The cell values, in the order a legend lists them.
CELL_LABELS = {
    Attendance.Status.PRESENT.value: "Present",
    Attendance.Status.LATE.value: "Late",
    Attendance.Status.EXCUSED.value: "Excused",
    Attendance.Status.ABSENT.value: "Absent",
    BOOKED: "Booked, not marked",
    NOT_BOOKED: "Not booked",
}
# The cell values as choices, for the API schema (one named enum).
CELL_CHOICES = list(CELL_LABELS.items())
# Per-student and per-session totals, in the order every surface shows them.
TOTALS = ("attended", "present", "late", "excused", "absent", "no_show")


@dataclass
class Totals:
    attended: int = 0
    present: int = 0
    late: int = 0
    excused: int = 0
    absent: int = 0
    no_show: int = 0
    # Started sessions that count towards the rate (booked or marked, not excused).
    counted: int = 0

    def add(self, cell: str, started: bool, booked: bool) -> None:
        if cell in ATTENDED:
            self.attended += 1
        if cell in CELL_LABELS and cell not in (BOOKED, NOT_BOOKED):
            setattr(self, cell, getattr(self, cell) + 1)
        if not started:
            return
        if booked and cell not in ATTENDED:
            self.no_show += 1
        if cell != Attendance.Status.EXCUSED and (booked or cell != NOT_BOOKED):
            self.counted += 1

    @property
    def rate(self) -> float | None:
        return round(self.attended / self.counted, 4) if self.counted else None

    def as_dict(self) -> dict[str, int | float | None]:
        return {**{name: getattr(self, name) for name in TOTALS}, "rate": self.rate}


@dataclass
class RegisterSession:
    id: int
    title: str
    date_start: datetime
    instructor_id: int
    started: bool
    totals: Totals = field(default_factory=Totals)


@dataclass
class RegisterRow:
    student_id: int
    username: str
    name: str
    cells: list[str]
    totals: Totals = field(default_factory=Totals)
    flagged: bool = False


@dataclass
class Register:
    semester: Semester
    sessions: list[RegisterSession]
    rows: list[RegisterRow]
    warning_rate: float


def warning_rate() -> float:
    return float(getattr(settings, "ATTENDANCE_WARNING_RATE", 0.8))


def register_sessions(
    semester: Semester,
    *,
    group: Group | None = None,
    specialization: Specialization | None = None,
    instructor: User | None = None,
) -> QuerySet[Session]:
    """The register's columns: the semester's scheduled sessions, narrowed as asked.

    `group`: that group's sessions; `specialization`: the sessions open to it (no
    target, that one, or mixed); `instructor`: only the sessions they teach.
    """
    sessions = Session.objects.filter(semester=semester, status=Session.Status.SCHEDULED)
    if group is not None:
        sessions = sessions.filter(group=group)
    if specialization is not None:
        sessions = sessions.filter(
            Q(target_specialization__isnull=True)
            | Q(target_specialization=specialization)
            | Q(mixed_specialization=True)
        )
    if instructor is not None:
        sessions = sessions.filter(instructor=instructor)
    return sessions


def attendance_register(
    semester: Semester,
    *,
    group: Group | None = None,
    specialization: Specialization | None = None,
    instructor: User | None = None,
    student: User | None = None,
    now: datetime | None = None,
) -> Register:
    """The register in three queries (students, sessions, cells).

    The rows are the group's members (with a group) and everyone with a confirmed
    booking or a mark on one of the columns; `specialization` keeps the students of
    that specialization, `student` that one student (a student's own record).
    """
    now = now or timezone.now()
    sessions_qs = register_sessions(
        semester, group=group, specialization=specialization, instructor=instructor
    )
    session_ids = sessions_qs.values("pk")
    involved = Q(
        pk__in=Booking.objects.filter(
            session__in=session_ids, status=Booking.Status.CONFIRMED
        ).values("student_id")
    ) | Q(pk__in=Attendance.objects.filter(session__in=session_ids).values("student_id"))
    if group is not None and instructor is None:
        involved |= Q(pk__in=Group.members.through.objects.filter(group=group).values("user_id"))
    students_qs = User.objects.filter(involved)
    if specialization is not None:
        students_qs = students_qs.filter(specialization=specialization)
    if student is not None:
        students_qs = students_qs.filter(pk=student.pk)

    # Query 1: the students.
    students = list(
        students_qs.order_by("last_name", "first_name", "username").values_list(
            "pk", "username", "first_name", "last_name"
        )
    )
    # Query 2: the sessions.
    sessions = [
        RegisterSession(
            id=pk, title=title, date_start=start, instructor_id=instructor_id, started=start <= now
        )
        for pk, title, start, instructor_id in sessions_qs.order_by("date_start", "pk").values_list(
            "pk", "title", "date_start", "instructor_id"
        )
    ]
    # Query 3: the cells, one statement for the whole grid.
    # The rows are everyone booked or marked on the columns (plus members), so the cells
    # need no filter on the students beyond the two that narrow the rows themselves.
    row_filter = Q()
    if specialization is not None:
        row_filter &= Q(student__specialization=specialization)
    if student is not None:
        row_filter &= Q(student_id=student.pk)
    mark = Attendance.objects.filter(
        session_id=OuterRef("session_id"), student_id=OuterRef("student_id")
    ).values("status")[:1]
    booked_cells = (
        Booking.objects.filter(row_filter, status=Booking.Status.CONFIRMED, session__in=session_ids)
        .order_by()
        .annotate(
            mark=Subquery(mark, output_field=CharField()),
            booked=Value(True, output_field=BooleanField()),
        )
        .values_list("student_id", "session_id", "mark", "booked")
    )
    unbooked_marks = (
        Attendance.objects.filter(row_filter, session__in=session_ids)
        .exclude(
            Exists(
                Booking.objects.filter(
                    session_id=OuterRef("session_id"),
                    student_id=OuterRef("student_id"),
                    status=Booking.Status.CONFIRMED,
                )
            )
        )
        .order_by()
        .annotate(booked=Value(False, output_field=BooleanField()))
        .values_list("student_id", "session_id", "status", "booked")
    )
    cells: dict[tuple[int, int], tuple[str, bool]] = {}
    for student_id, session_id, cell_mark, booked in booked_cells.union(unbooked_marks, all=True):
        cells[(student_id, session_id)] = (cell_mark or "", bool(booked))
    return _assemble(semester, students, sessions, cells)


def _assemble(
    semester: Semester,
    students: list[tuple[int, str, str, str]],
    sessions: list[RegisterSession],
    cells: dict[tuple[int, int], tuple[str, bool]],
) -> Register:
    threshold = warning_rate()
    rows = []
    for pk, username, first_name, last_name in students:
        name = f"{first_name} {last_name}".strip() or username
        row = RegisterRow(student_id=pk, username=username, name=name, cells=[])
        for session in sessions:
            mark, booked = cells.get((pk, session.id), (NOT_BOOKED, False))
            cell = mark or (BOOKED if booked else NOT_BOOKED)
            row.cells.append(cell)
            row.totals.add(cell, session.started, booked)
            session.totals.add(cell, session.started, booked)
        rate = row.totals.rate
        row.flagged = rate is not None and rate < threshold
        rows.append(row)
    return Register(semester=semester, sessions=sessions, rows=rows, warning_rate=threshold)


@dataclass
class RecordEntry:
    session_id: int
    title: str
    semester_code: str
    date_start: datetime
    status: str
    started: bool = False


@dataclass
class AttendanceRecord:
    entries: list[RecordEntry]
    totals: Totals
    flagged: bool
    warning_rate: float


@dataclass
class SemesterAttendance:
    """A student's row of one semester's register: the record and which semester."""

    semester_id: int
    code: str
    name: str
    record: AttendanceRecord


def _record_rows(student: User, semester: Semester | None) -> QuerySet:
    """The scheduled sessions the student was booked on (confirmed) or marked for, each
    with its semester, start, whether booked, and the mark: one statement."""
    sessions = Session.objects.filter(status=Session.Status.SCHEDULED)
    if semester is not None:
        sessions = sessions.filter(semester=semester)
    booked = Exists(
        Booking.objects.filter(
            session_id=OuterRef("pk"), student_id=student.pk, status=Booking.Status.CONFIRMED
        )
    )
    mark = Attendance.objects.filter(session_id=OuterRef("pk"), student_id=student.pk).values(
        "status"
    )[:1]
    return (
        sessions.annotate(booked=booked, mark=Subquery(mark, output_field=CharField()))
        .filter(Q(booked=True) | Q(mark__isnull=False))
        .order_by("date_start", "pk")
        .values_list(
            "pk",
            "title",
            "semester_id",
            "semester__code",
            "semester__name",
            "date_start",
            "booked",
            "mark",
        )
    )


def _record(rows: list[tuple], now: datetime) -> AttendanceRecord:
    """The cells and totals of the rows, as `_assemble` computes a register row."""
    totals = Totals()
    entries = []
    for pk, title, _semester_id, code, _name, start, is_booked, cell_mark in rows:
        cell = cell_mark or (BOOKED if is_booked else NOT_BOOKED)
        started = start <= now
        totals.add(cell, started, bool(is_booked))
        entries.append(RecordEntry(pk, title, code, start, cell, started))
    threshold = warning_rate()
    rate = totals.rate
    return AttendanceRecord(
        entries=entries,
        totals=totals,
        flagged=rate is not None and rate < threshold,
        warning_rate=threshold,
    )


def student_attendance_record(
    student: User, *, semester: Semester | None = None, now: datetime | None = None
) -> AttendanceRecord:
    """A student's own row of every register, in one query: the scheduled sessions they
    were booked on (confirmed) or marked for, with the same cells and totals."""
    return _record(list(_record_rows(student, semester)), now or timezone.now())


def student_attendance_by_semester(
    student: User, *, now: datetime | None = None
) -> list[SemesterAttendance]:
    """The student's row of each semester's register (newest semester first), in one
    query: the same cells, totals, rate and flag as `attendance_register` gives them."""
    now = now or timezone.now()
    by_semester: dict[int, list[tuple]] = {}
    for row in _record_rows(student, None):
        by_semester.setdefault(row[2], []).append(row)
    semesters = [
        SemesterAttendance(
            semester_id=semester_id, code=rows[0][3], name=rows[0][4], record=_record(rows, now)
        )
        for semester_id, rows in by_semester.items()
    ]
    # Newest first: the semester whose first session is latest.
    return sorted(semesters, key=lambda s: s.record.entries[0].date_start, reverse=True)


@dataclass(frozen=True)
class RegisterScope:
    """What a viewer may see of a semester's register: everything, or the sessions
    they teach (`instructor` set)."""

    instructor: User | None = None


def register_scope(user: User, semester: Semester) -> RegisterScope | None:
    """Staff and the master instructor see the whole register; an instructor who
    teaches in the semester sees the columns of their own sessions; anyone else
    nothing (None: the surfaces answer 404). Asks the database at most once."""
    if user.is_staff or semester.master_instructor_id == user.pk:
        return RegisterScope()
    if user.is_instructor and Session.objects.filter(semester=semester, instructor=user).exists():
        return RegisterScope(instructor=user)
    return None


def can_see_dashboard(user: User, semester: Semester) -> bool:
    """The semester dashboard: staff and the semester's master instructor."""
    return user.is_staff or semester.master_instructor_id == user.pk
