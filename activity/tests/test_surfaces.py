"""Every verb is produced by the service that owns it, with the right actor and data,
through every surface that offers the action: the API, the instructor pages and the admin.

One row per (verb, surface): the trigger drives the surface as a client would (a
schema-checked API client, a logged-in browser) and says which activity it expects.
The test then finds exactly one new activity of that verb and checks its actor, its
target, the session and student it concerns and the key values of its data.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from django.db.models import Max
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from accounts.tests.factories import StaffFactory, StudentFactory
from activity import verbs
from activity.models import Activity
from bookings.models import Booking, CreditTransaction
from bookings.tests.factories import BookingFactory, CreditGrantFactory
from engagement.models import Attendance, Project
from engagement.tests.factories import AttendanceFactory
from scheduling.models import Group, Semester, Session, SessionSeries
from scheduling.tests.factories import (
    GroupFactory,
    PastSessionFactory,
    SemesterFactory,
    SessionFactory,
)

pytestmark = pytest.mark.django_db

API, PAGES, ADMIN = "api", "pages", "admin"
COST = 2  # every session's credit cost here
# The read-only roster inline of the admin's session form posts its (empty) management form.
EMPTY_ROSTER = {
    f"bookings-{name}": "0"
    for name in ("TOTAL_FORMS", "INITIAL_FORMS", "MIN_NUM_FORMS", "MAX_NUM_FORMS")
}


@dataclass
class Stage:
    """The cast: staff, the semester's master instructor (who also teaches its sessions)
    and a student with 10 credits; clients for each surface."""

    staff: User
    master: User
    student: User
    semester: Semester
    api_client: Callable[[User], Any]

    def api(self, user: User) -> Any:
        return self.api_client(user)

    def browser(self, user: User) -> Client:
        client = Client()
        client.force_login(user)
        return client

    def admin(self) -> Client:
        return self.browser(self.staff)

    def session(self, **fields: Any) -> Session:
        fields.setdefault("credit_cost", COST)
        return SessionFactory(semester=self.semester, **fields)

    def past_session(self) -> Session:
        session = PastSessionFactory(semester=self.semester, credit_cost=COST)
        BookingFactory(session=session, student=self.student)
        return session


@dataclass
class Expected:
    actor: User | None
    target: Any  # a model instance, or (label, id) for a deleted row
    session_id: int | None = None
    student_id: int | None = None
    data: dict[str, Any] = field(default_factory=dict)


@pytest.fixture
def stage(token_client) -> Stage:
    semester = SemesterFactory()
    student = StudentFactory()
    CreditGrantFactory(user=student, amount=10)
    return Stage(
        staff=StaffFactory(),
        master=semester.master_instructor,
        student=student,
        semester=semester,
        api_client=token_client,
    )


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, getattr(response, "content", b"")[:500]
    return response


def local_input(moment: Any) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def next_week() -> Any:
    return (timezone.now() + timedelta(days=7)).replace(minute=0, second=0, microsecond=0)


def admin_session_form(session: Session | None, **overrides: Any) -> dict[str, str]:
    start = session.date_start if session else next_week()
    end = session.date_end if session else start + timedelta(hours=2)
    local = timezone.localtime
    data = {
        "title": session.title if session else "Footwork clinic",
        "description": "",
        "instructor": str(session.instructor_id) if session else "",
        "group": "",
        "target_specialization": "",
        "session_type": "on_site",
        "date_start_0": local(start).date().isoformat(),
        "date_start_1": local(start).time().isoformat(),
        "date_end_0": local(end).date().isoformat(),
        "date_end_1": local(end).time().isoformat(),
        "location": session.location if session else "",
        "meeting_link": "",
        "capacity": str(session.capacity) if session else "12",
        "credit_cost": str(COST),
        **EMPTY_ROSTER,
    }
    data.update({name: str(value) for name, value in overrides.items()})
    return data


def page_session_form(session: Session | None, **overrides: Any) -> dict[str, Any]:
    start = session.date_start if session else next_week()
    end = session.date_end if session else start + timedelta(hours=2)
    data = {
        "title": session.title if session else "Footwork clinic",
        "description": "",
        "session_type": "on_site",
        "date_start": local_input(start),
        "date_end": local_input(end),
        "capacity": str(session.capacity) if session else "12",
        "credit_cost": str(COST),
        "location": session.location if session else "",
        "meeting_link": "",
        "target_specialization": "",
        "group": "",
    }
    data.update(overrides)
    return data


def admin_action(client: Client, model: type, action: str, objs: list, **form: str) -> Any:
    opts = model._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    data = {"action": action, "_selected_action": [obj.pk for obj in objs], **form}
    return ok(client.post(url, data), 302)


def admin_url(obj_or_model: Any, view: str) -> str:
    opts = obj_or_model._meta
    args = [obj_or_model.pk] if view in ("change", "delete") else []
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_{view}", args=args)


def admin_delete(stage: Stage, obj: Any) -> Any:
    return ok(stage.admin().post(admin_url(obj, "delete"), {"post": "yes"}), 302)


def gone(obj: Any) -> tuple[str, int]:
    return obj._meta.label_lower, obj.pk


# --- sessions --------------------------------------------------------------------------------


def session_created_api(stage: Stage) -> Expected:
    start = next_week()
    body = {
        "title": "Footwork clinic",
        "semester": stage.semester.pk,
        "instructor": stage.master.pk,
        "session_type": "on_site",
        "date_start": start.isoformat(),
        "date_end": (start + timedelta(hours=2)).isoformat(),
        "capacity": 12,
        "credit_cost": COST,
    }
    ok(stage.api(stage.master).post("/api/v1/sessions/", body, format="json"), 201)
    session = Session.objects.get(title="Footwork clinic")
    return Expected(stage.master, session, session.pk, data={"title": "Footwork clinic"})


def session_created_pages(stage: Stage) -> Expected:
    form = page_session_form(None, semester=stage.semester.pk)
    ok(stage.browser(stage.master).post(reverse("instructor:session-create"), form), 302)
    session = Session.objects.get(title="Footwork clinic")
    return Expected(stage.master, session, session.pk, data={"title": "Footwork clinic"})


def session_created_admin(stage: Stage) -> Expected:
    form = admin_session_form(None, semester=stage.semester.pk, instructor=stage.master.pk)
    ok(stage.admin().post(admin_url(Session, "add"), form), 302)
    session = Session.objects.get(title="Footwork clinic")
    return Expected(stage.staff, session, session.pk, data={"title": "Footwork clinic"})


def _renamed(stage: Stage, actor: User, session: Session) -> Expected:
    return Expected(
        actor, session, session.pk, data={"changes": {"title": [session.title, "Renamed"]}}
    )


def session_updated_api(stage: Stage) -> Expected:
    session = stage.session()
    ok(stage.api(stage.master).patch(f"/api/v1/sessions/{session.pk}/", {"title": "Renamed"}))
    return _renamed(stage, stage.master, session)


def session_updated_pages(stage: Stage) -> Expected:
    session = stage.session()
    url = reverse("instructor:session-update", args=[session.pk])
    ok(stage.browser(stage.master).post(url, page_session_form(session, title="Renamed")), 302)
    return _renamed(stage, stage.master, session)


def session_updated_admin(stage: Stage) -> Expected:
    session = stage.session()
    form = admin_session_form(session, title="Renamed")
    ok(stage.admin().post(admin_url(session, "change"), form), 302)
    return _renamed(stage, stage.staff, session)


def _booked_session(stage: Stage) -> Session:
    session = stage.session()
    BookingFactory(session=session, student=stage.student)
    return session


def _cancelled(actor: User, session: Session) -> Expected:
    return Expected(
        actor, session, session.pk, data={"bookings_cancelled": 1, "credits_refunded": COST}
    )


def session_cancelled_api(stage: Stage) -> Expected:
    session = _booked_session(stage)
    ok(stage.api(stage.master).post(f"/api/v1/sessions/{session.pk}/cancel/"))
    return _cancelled(stage.master, session)


def session_cancelled_pages(stage: Stage) -> Expected:
    session = _booked_session(stage)
    url = reverse("instructor:session-cancel", args=[session.pk])
    ok(stage.browser(stage.master).post(url), 302)
    return _cancelled(stage.master, session)


def session_cancelled_admin(stage: Stage) -> Expected:
    session = _booked_session(stage)
    admin_action(stage.admin(), Session, "cancel_selected_sessions", [session])
    return _cancelled(stage.staff, session)


def _deleted_session(actor: User, session: Session) -> Expected:
    return Expected(actor, gone(session), session.pk, data={"title": session.title})


def session_deleted_api(stage: Stage) -> Expected:
    session = stage.session()
    ok(stage.api(stage.master).delete(f"/api/v1/sessions/{session.pk}/"), 204)
    return _deleted_session(stage.master, session)


def session_deleted_pages(stage: Stage) -> Expected:
    session = stage.session()
    url = reverse("instructor:session-delete", args=[session.pk])
    ok(stage.browser(stage.master).post(url), 302)
    return _deleted_session(stage.master, session)


def session_deleted_admin(stage: Stage) -> Expected:
    session = stage.session()
    admin_delete(stage, session)
    return _deleted_session(stage.staff, session)


# --- semesters and groups (staff only: the API and the admin) --------------------------------


def _semester_form(master: User) -> dict[str, Any]:
    today = timezone.localdate()
    return {
        "code": "SEM-NEW",
        "name": "New semester",
        "start_date": today.isoformat(),
        "end_date": (today + timedelta(days=90)).isoformat(),
        "location": "Hall B",
        "is_active": "on",
        "master_instructor": master.pk,
    }


def semester_created_api(stage: Stage) -> Expected:
    body = {**_semester_form(stage.master), "is_active": True}
    ok(stage.api(stage.staff).post("/api/v1/semesters/", body), 201)
    return Expected(stage.staff, Semester.objects.get(code="SEM-NEW"), data={"code": "SEM-NEW"})


def semester_created_admin(stage: Stage) -> Expected:
    ok(stage.admin().post(admin_url(Semester, "add"), _semester_form(stage.master)), 302)
    return Expected(stage.staff, Semester.objects.get(code="SEM-NEW"), data={"code": "SEM-NEW"})


def _semester_renamed(stage: Stage, semester: Semester) -> Expected:
    return Expected(stage.staff, semester, data={"changes": {"name": [semester.name, "Renamed"]}})


def semester_updated_api(stage: Stage) -> Expected:
    semester = SemesterFactory()
    ok(stage.api(stage.staff).patch(f"/api/v1/semesters/{semester.pk}/", {"name": "Renamed"}))
    return _semester_renamed(stage, semester)


def semester_updated_admin(stage: Stage) -> Expected:
    semester = SemesterFactory()
    form = {
        **_semester_form(semester.master_instructor),
        "code": semester.code,
        "start_date": semester.start_date.isoformat(),
        "end_date": semester.end_date.isoformat(),
        "location": semester.location,
        "name": "Renamed",
    }
    ok(stage.admin().post(admin_url(semester, "change"), form), 302)
    return _semester_renamed(stage, semester)


def semester_deleted_api(stage: Stage) -> Expected:
    semester = SemesterFactory()
    ok(stage.api(stage.staff).delete(f"/api/v1/semesters/{semester.pk}/"), 204)
    return Expected(stage.staff, gone(semester), data={"code": semester.code})


def semester_deleted_admin(stage: Stage) -> Expected:
    semester = SemesterFactory()
    admin_delete(stage, semester)
    return Expected(stage.staff, gone(semester), data={"code": semester.code})


def _group_created(stage: Stage) -> Expected:
    group = Group.objects.get(name="Juniors")
    return Expected(
        stage.staff,
        group,
        data={"name": "Juniors", "semester": stage.semester.pk, "members": [stage.student.pk]},
    )


def group_created_api(stage: Stage) -> Expected:
    body = {"name": "Juniors", "semester": stage.semester.pk, "members": [stage.student.pk]}
    ok(stage.api(stage.staff).post("/api/v1/groups/", body), 201)
    return _group_created(stage)


def group_created_admin(stage: Stage) -> Expected:
    form = {"name": "Juniors", "semester": stage.semester.pk, "members": [stage.student.pk]}
    ok(stage.admin().post(admin_url(Group, "add"), form), 302)
    return _group_created(stage)


def _group_updated(stage: Stage, group: Group, left: User) -> Expected:
    return Expected(
        stage.staff,
        group,
        data={
            "changes": {"name": [group.name, "Seniors"]},
            "members_added": [stage.student.pk],
            "members_removed": [left.pk],
        },
    )


def group_updated_api(stage: Stage) -> Expected:
    left = StudentFactory()
    group = GroupFactory(semester=stage.semester, members=[left])
    body = {"name": "Seniors", "members": [stage.student.pk]}
    ok(stage.api(stage.staff).patch(f"/api/v1/groups/{group.pk}/", body))
    return _group_updated(stage, group, left)


def group_updated_admin(stage: Stage) -> Expected:
    left = StudentFactory()
    group = GroupFactory(semester=stage.semester, members=[left])
    form = {"name": "Seniors", "members": [stage.student.pk]}
    ok(stage.admin().post(admin_url(group, "change"), form), 302)
    return _group_updated(stage, group, left)


def _group_deleted(stage: Stage, group: Group) -> Expected:
    return Expected(
        stage.staff, gone(group), data={"name": group.name, "semester": group.semester_id}
    )


def group_deleted_api(stage: Stage) -> Expected:
    group = GroupFactory(semester=stage.semester)
    ok(stage.api(stage.staff).delete(f"/api/v1/groups/{group.pk}/"), 204)
    return _group_deleted(stage, group)


def group_deleted_admin(stage: Stage) -> Expected:
    group = GroupFactory(semester=stage.semester)
    admin_delete(stage, group)
    return _group_deleted(stage, group)


# --- bookings (students book through the API; staff cancel in the admin) ---------------------


def booking_confirmed_api(stage: Stage) -> Expected:
    session = stage.session()
    ok(stage.api(stage.student).post("/api/v1/bookings/", {"session": session.pk}), 201)
    booking = Booking.objects.get(session=session, student=stage.student)
    return Expected(stage.student, booking, session.pk, stage.student.pk, {"credits_charged": COST})


def booking_waitlisted_api(stage: Stage) -> Expected:
    session = stage.session(capacity=1)
    BookingFactory(session=session)
    ok(stage.api(stage.student).post("/api/v1/bookings/", {"session": session.pk}), 201)
    booking = Booking.objects.get(session=session, student=stage.student)
    return Expected(stage.student, booking, session.pk, stage.student.pk, {"waitlist_position": 1})


def _full_with_waitlist(stage: Stage) -> tuple[Session, Booking, Booking]:
    """A one-seat session held by someone, with `stage.student` waiting for it."""
    session = stage.session(capacity=1)
    holder = BookingFactory(session=session)
    waiting = BookingFactory(
        session=session, student=stage.student, status=Booking.Status.WAITLISTED
    )
    return session, holder, waiting


def _promoted(stage: Stage, session: Session, waiting: Booking) -> Expected:
    # Nobody chose the promotion: the system acts.
    return Expected(
        None,
        waiting,
        session.pk,
        stage.student.pk,
        {"credits_charged": COST, "balance_after": 10 - COST},
    )


def booking_promoted_api(stage: Stage) -> Expected:
    session, holder, waiting = _full_with_waitlist(stage)
    ok(stage.api(holder.student).post(f"/api/v1/bookings/{holder.pk}/cancel/"))
    return _promoted(stage, session, waiting)


def booking_promoted_pages(stage: Stage) -> Expected:
    session, _, waiting = _full_with_waitlist(stage)
    url = reverse("instructor:session-update", args=[session.pk])
    ok(stage.browser(stage.master).post(url, page_session_form(session, capacity="2")), 302)
    return _promoted(stage, session, waiting)


def booking_promoted_admin(stage: Stage) -> Expected:
    session, holder, waiting = _full_with_waitlist(stage)
    admin_action(stage.admin(), Booking, "cancel_selected_bookings", [holder])
    return _promoted(stage, session, waiting)


def _booking_cancelled(actor: User, booking: Booking, cancelled_by: str) -> Expected:
    return Expected(
        actor,
        booking,
        booking.session_id,
        booking.student_id,
        {"credits_refunded": COST, "was": "confirmed", "cancelled_by": cancelled_by},
    )


def booking_cancelled_api(stage: Stage) -> Expected:
    booking = BookingFactory(session=stage.session(), student=stage.student)
    ok(stage.api(stage.student).post(f"/api/v1/bookings/{booking.pk}/cancel/"))
    return _booking_cancelled(stage.student, booking, "student")


def booking_cancelled_pages(stage: Stage) -> Expected:
    # The instructor pages cancel bookings only by cancelling their session.
    booking = BookingFactory(session=stage.session(), student=stage.student)
    url = reverse("instructor:session-cancel", args=[booking.session_id])
    ok(stage.browser(stage.master).post(url), 302)
    return _booking_cancelled(stage.master, booking, "session_cancelled")


def booking_cancelled_admin(stage: Stage) -> Expected:
    booking = BookingFactory(session=stage.session(), student=stage.student)
    admin_action(stage.admin(), Booking, "cancel_selected_bookings", [booking])
    return _booking_cancelled(stage.staff, booking, "staff")


# --- credits (staff: the API and the users admin's actions) ----------------------------------


def _ledger_row(stage: Stage, kind: str, amount: int, note: str) -> Expected:
    # The newest: the stage's student already holds a grant.
    entry = CreditTransaction.objects.filter(user=stage.student, kind=kind).latest("id")
    return Expected(
        stage.staff, entry, student_id=stage.student.pk, data={"amount": amount, "note": note}
    )


def credits_granted_api(stage: Stage) -> Expected:
    body = {"student": stage.student.pk, "amount": 5, "note": "Welcome pack"}
    ok(stage.api(stage.staff).post("/api/v1/credits/grant/", body), 201)
    return _ledger_row(stage, "grant", 5, "Welcome pack")


def credits_granted_admin(stage: Stage) -> Expected:
    form = {"amount": "5", "note": "Welcome pack", "apply": "1"}
    admin_action(stage.admin(), User, "grant_credits_action", [stage.student], **form)
    return _ledger_row(stage, "grant", 5, "Welcome pack")


def credits_adjusted_api(stage: Stage) -> Expected:
    body = {"student": stage.student.pk, "amount": -3, "note": "Double grant"}
    ok(stage.api(stage.staff).post("/api/v1/credits/adjust/", body), 201)
    return _ledger_row(stage, "adjustment", -3, "Double grant")


def credits_adjusted_admin(stage: Stage) -> Expected:
    form = {"amount": "-3", "note": "Double grant", "apply": "1"}
    admin_action(stage.admin(), User, "adjust_credits_action", [stage.student], **form)
    return _ledger_row(stage, "adjustment", -3, "Double grant")


# --- attendance and feedback -----------------------------------------------------------------


def _attendance(stage: Stage, session: Session, data: dict[str, Any]) -> Expected:
    row = Attendance.objects.get(session=session, student=stage.student)
    return Expected(stage.master, row, session.pk, stage.student.pk, data)


def attendance_recorded_api(stage: Stage) -> Expected:
    session = stage.past_session()
    body = {"session": session.pk, "student": stage.student.pk, "status": "present"}
    ok(stage.api(stage.master).post("/api/v1/attendance/", body), 201)
    return _attendance(stage, session, {"status": "present"})


def attendance_recorded_pages(stage: Stage) -> Expected:
    session = stage.past_session()
    url = reverse("instructor:session-attendance", args=[session.pk])
    ok(stage.browser(stage.master).post(url, {f"student_{stage.student.pk}": "present"}), 302)
    return _attendance(stage, session, {"status": "present"})


def _marked_absent(stage: Stage) -> tuple[Session, Attendance]:
    session = stage.past_session()
    mark = AttendanceFactory(session=session, student=stage.student, status="absent")
    return session, mark


def attendance_corrected_api(stage: Stage) -> Expected:
    session, mark = _marked_absent(stage)
    ok(stage.api(stage.master).patch(f"/api/v1/attendance/{mark.pk}/", {"status": "present"}))
    return _attendance(stage, session, {"old": "absent", "new": "present"})


def attendance_corrected_pages(stage: Stage) -> Expected:
    session, _ = _marked_absent(stage)
    url = reverse("instructor:session-attendance", args=[session.pk])
    ok(stage.browser(stage.master).post(url, {f"student_{stage.student.pk}": "present"}), 302)
    return _attendance(stage, session, {"old": "absent", "new": "present"})


def feedback_given_api(stage: Stage) -> Expected:
    session, _ = _marked_absent(stage)
    Attendance.objects.filter(session=session).update(status="present")
    body = {"session": session.pk, "rating": 5}
    ok(stage.api(stage.student).post("/api/v1/feedback/", body), 201)
    feedback = session.feedback.get()
    return Expected(stage.student, feedback, session.pk, stage.student.pk, {"rating": 5})


# --- projects (staff or the master instructor: the API and the admin) ------------------------


def _project_created(stage: Stage, session: Session) -> Expected:
    project = Project.objects.get(title="Serve clinic")
    return Expected(stage.staff, project, data={"title": "Serve clinic", "sessions": [session.pk]})


def project_created_api(stage: Stage) -> Expected:
    session = stage.session()
    body = {"semester": stage.semester.pk, "title": "Serve clinic", "sessions": [session.pk]}
    ok(stage.api(stage.staff).post("/api/v1/projects/", body, format="json"), 201)
    return _project_created(stage, session)


def project_created_admin(stage: Stage) -> Expected:
    session = stage.session()
    form = {
        "title": "Serve clinic",
        "description": "",
        "semester": stage.semester.pk,
        "sessions": [session.pk],
    }
    ok(stage.admin().post(admin_url(Project, "add"), form), 302)
    return _project_created(stage, session)


def _project(stage: Stage) -> Project:
    return Project.objects.create(semester=stage.semester, title="Old title")


def _project_renamed(stage: Stage, project: Project) -> Expected:
    return Expected(stage.staff, project, data={"changes": {"title": ["Old title", "Renamed"]}})


def project_updated_api(stage: Stage) -> Expected:
    project = _project(stage)
    ok(stage.api(stage.staff).patch(f"/api/v1/projects/{project.pk}/", {"title": "Renamed"}))
    return _project_renamed(stage, project)


def project_updated_admin(stage: Stage) -> Expected:
    project = _project(stage)
    form = {"title": "Renamed", "description": ""}
    ok(stage.admin().post(admin_url(project, "change"), form), 302)
    return _project_renamed(stage, project)


def project_deleted_api(stage: Stage) -> Expected:
    project = _project(stage)
    ok(stage.api(stage.staff).delete(f"/api/v1/projects/{project.pk}/"), 204)
    return Expected(stage.staff, gone(project), data={"title": "Old title"})


def project_deleted_admin(stage: Stage) -> Expected:
    project = _project(stage)
    admin_delete(stage, project)
    return Expected(stage.staff, gone(project), data={"title": "Old title"})


# --- series (the API) -------------------------------------------------------------------------


def _series(stage: Stage) -> SessionSeries:
    first = timezone.localdate() + timedelta(days=1)
    response = stage.api(stage.master).post(
        "/api/v1/series/",
        {
            "semester": stage.semester.pk,
            "title": "Evening technique",
            "instructor": stage.master.pk,
            "weekdays": [first.isoweekday()],
            "start_time": "18:00",
            "duration_minutes": 90,
            "first_date": first.isoformat(),
            "count": 2,
            "credit_cost": COST,
        },
        format="json",
    )
    ok(response, 201)
    return SessionSeries.objects.get(pk=response.json()["id"])


def series_created_api(stage: Stage) -> Expected:
    series = _series(stage)
    return Expected(stage.master, series, data={"title": "Evening technique", "occurrences": 2})


def series_updated_api(stage: Stage) -> Expected:
    series = _series(stage)
    url = f"/api/v1/series/{series.pk}/"
    ok(stage.api(stage.master).patch(url, {"scope": "all", "title": "Late"}, format="json"))
    return Expected(stage.master, series, data={"scope": "all", "changes": {"title": "Late"}})


def series_cancelled_api(stage: Stage) -> Expected:
    series = _series(stage)
    url = f"/api/v1/series/{series.pk}/cancel/"
    ok(stage.api(stage.master).post(url, {"scope": "all"}, format="json"))
    return Expected(stage.master, series, data={"scope": "all", "credits_refunded": 0})


# (verb, surface, trigger): every surface that offers each action.
ROWS: list[tuple[str, str, Callable[[Stage], Expected]]] = [
    (verbs.SESSION_CREATED, API, session_created_api),
    (verbs.SESSION_CREATED, PAGES, session_created_pages),
    (verbs.SESSION_CREATED, ADMIN, session_created_admin),
    (verbs.SESSION_UPDATED, API, session_updated_api),
    (verbs.SESSION_UPDATED, PAGES, session_updated_pages),
    (verbs.SESSION_UPDATED, ADMIN, session_updated_admin),
    (verbs.SESSION_CANCELLED, API, session_cancelled_api),
    (verbs.SESSION_CANCELLED, PAGES, session_cancelled_pages),
    (verbs.SESSION_CANCELLED, ADMIN, session_cancelled_admin),
    (verbs.SESSION_DELETED, API, session_deleted_api),
    (verbs.SESSION_DELETED, PAGES, session_deleted_pages),
    (verbs.SESSION_DELETED, ADMIN, session_deleted_admin),
    (verbs.SEMESTER_CREATED, API, semester_created_api),
    (verbs.SEMESTER_CREATED, ADMIN, semester_created_admin),
    (verbs.SEMESTER_UPDATED, API, semester_updated_api),
    (verbs.SEMESTER_UPDATED, ADMIN, semester_updated_admin),
    (verbs.SEMESTER_DELETED, API, semester_deleted_api),
    (verbs.SEMESTER_DELETED, ADMIN, semester_deleted_admin),
    (verbs.GROUP_CREATED, API, group_created_api),
    (verbs.GROUP_CREATED, ADMIN, group_created_admin),
    (verbs.GROUP_UPDATED, API, group_updated_api),
    (verbs.GROUP_UPDATED, ADMIN, group_updated_admin),
    (verbs.GROUP_DELETED, API, group_deleted_api),
    (verbs.GROUP_DELETED, ADMIN, group_deleted_admin),
    (verbs.BOOKING_CONFIRMED, API, booking_confirmed_api),
    (verbs.BOOKING_WAITLISTED, API, booking_waitlisted_api),
    (verbs.BOOKING_PROMOTED, API, booking_promoted_api),
    (verbs.BOOKING_PROMOTED, PAGES, booking_promoted_pages),
    (verbs.BOOKING_PROMOTED, ADMIN, booking_promoted_admin),
    (verbs.BOOKING_CANCELLED, API, booking_cancelled_api),
    (verbs.BOOKING_CANCELLED, PAGES, booking_cancelled_pages),
    (verbs.BOOKING_CANCELLED, ADMIN, booking_cancelled_admin),
    (verbs.CREDITS_GRANTED, API, credits_granted_api),
    (verbs.CREDITS_GRANTED, ADMIN, credits_granted_admin),
    (verbs.CREDITS_ADJUSTED, API, credits_adjusted_api),
    (verbs.CREDITS_ADJUSTED, ADMIN, credits_adjusted_admin),
    (verbs.ATTENDANCE_RECORDED, API, attendance_recorded_api),
    (verbs.ATTENDANCE_RECORDED, PAGES, attendance_recorded_pages),
    (verbs.ATTENDANCE_CORRECTED, API, attendance_corrected_api),
    (verbs.ATTENDANCE_CORRECTED, PAGES, attendance_corrected_pages),
    (verbs.FEEDBACK_GIVEN, API, feedback_given_api),
    (verbs.PROJECT_CREATED, API, project_created_api),
    (verbs.PROJECT_CREATED, ADMIN, project_created_admin),
    (verbs.PROJECT_UPDATED, API, project_updated_api),
    (verbs.PROJECT_UPDATED, ADMIN, project_updated_admin),
    (verbs.PROJECT_DELETED, API, project_deleted_api),
    (verbs.PROJECT_DELETED, ADMIN, project_deleted_admin),
    (verbs.SERIES_CREATED, API, series_created_api),
    (verbs.SERIES_UPDATED, API, series_updated_api),
    (verbs.SERIES_CANCELLED, API, series_cancelled_api),
]


def contains(actual: Any, expected: Any) -> bool:
    """`expected`'s keys, recursively, hold the same values in `actual` (other keys may exist)."""
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(
            key in actual and contains(actual[key], value) for key, value in expected.items()
        )
    return actual == expected


@pytest.mark.parametrize(
    ("verb", "surface", "trigger"), ROWS, ids=[f"{verb}-{surface}" for verb, surface, _ in ROWS]
)
def test_each_verb_is_recorded_alike_through_each_surface(stage, verb, surface, trigger):
    before = Activity.objects.aggregate(last=Max("id"))["last"] or 0

    expected = trigger(stage)

    (row,) = Activity.objects.filter(pk__gt=before, verb=verb)
    target = expected.target
    if not isinstance(target, tuple):
        target = (target._meta.label_lower, target.pk)
    assert row.actor_id == (expected.actor.pk if expected.actor else None)
    assert (row.target_type, row.target_id) == target
    assert (row.session_id, row.student_id) == (expected.session_id, expected.student_id)
    assert contains(row.data, expected.data), row.data


# Which surfaces offer each action: the API offers every one; the instructor pages create,
# edit, cancel and delete sessions (an edit may promote; a cancellation cancels bookings)
# and mark attendance; the admin writes everything but bookings, attendance and feedback,
# which it shows read-only (it cancels bookings by an action).
OFFERED = {
    verbs.SESSION_CREATED: {API, PAGES, ADMIN},
    verbs.SESSION_UPDATED: {API, PAGES, ADMIN},
    verbs.SESSION_CANCELLED: {API, PAGES, ADMIN},
    verbs.SESSION_DELETED: {API, PAGES, ADMIN},
    verbs.SEMESTER_CREATED: {API, ADMIN},
    verbs.SEMESTER_UPDATED: {API, ADMIN},
    verbs.SEMESTER_DELETED: {API, ADMIN},
    verbs.GROUP_CREATED: {API, ADMIN},
    verbs.GROUP_UPDATED: {API, ADMIN},
    verbs.GROUP_DELETED: {API, ADMIN},
    verbs.BOOKING_CONFIRMED: {API},
    verbs.BOOKING_WAITLISTED: {API},
    verbs.BOOKING_PROMOTED: {API, PAGES, ADMIN},
    verbs.BOOKING_CANCELLED: {API, PAGES, ADMIN},
    verbs.CREDITS_GRANTED: {API, ADMIN},
    verbs.CREDITS_ADJUSTED: {API, ADMIN},
    verbs.ATTENDANCE_RECORDED: {API, PAGES},
    verbs.ATTENDANCE_CORRECTED: {API, PAGES},
    verbs.FEEDBACK_GIVEN: {API},
    verbs.PROJECT_CREATED: {API, ADMIN},
    verbs.PROJECT_UPDATED: {API, ADMIN},
    verbs.PROJECT_DELETED: {API, ADMIN},
    verbs.SERIES_CREATED: {API},
    verbs.SERIES_UPDATED: {API},
    verbs.SERIES_CANCELLED: {API},
}


def test_the_table_covers_every_verb_through_every_surface_offering_it():
    assert set(OFFERED) == set(verbs.ALL_VERBS)
    covered = {(verb, surface) for verb, surface, _ in ROWS}
    offered = {(verb, surface) for verb, surfaces in OFFERED.items() for surface in surfaces}
    assert covered == offered
    assert len(covered) == len(ROWS)
