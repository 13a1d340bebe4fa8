"""The staff admin of semesters and sessions: constant-query lists, service-backed
saves, refunding cancellation, CSV export and PROTECT on delete."""

import csv
import io
from datetime import timedelta

import pytest
from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.contrib.messages import get_messages
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from accounts.tests.factories import InstructorFactory, StaffFactory, StudentFactory
from bookings.integrity import check_integrity
from bookings.models import Booking, CreditTransaction
from bookings.services import book_session, grant_credits
from bookings.tests.factories import BookingFactory
from engagement.models import Attendance, Feedback, ProjectSession
from engagement.tests.factories import AttendanceFactory, FeedbackFactory, ProjectSessionFactory
from scheduling.models import Group, Semester, Session, SessionSeries
from scheduling.tests.factories import (
    GroupFactory,
    PastSessionFactory,
    QualificationFactory,
    SemesterFactory,
    SessionFactory,
    SpecializationFactory,
)

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:scheduling_session_changelist")
ADD = reverse("admin:scheduling_session_add")
# The read-only roster inline still posts its (empty) management form.
EMPTY_ROSTER = {
    "bookings-TOTAL_FORMS": "0",
    "bookings-INITIAL_FORMS": "0",
    "bookings-MIN_NUM_FORMS": "0",
    "bookings-MAX_NUM_FORMS": "0",
}


def change_url(obj) -> str:
    opts = obj._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])


def delete_url(obj) -> str:
    opts = obj._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_delete", args=[obj.pk])


def assert_ledger_reconciled() -> None:
    assert check_integrity() == []
    for user in User.objects.all():
        total = sum(CreditTransaction.objects.filter(user=user).values_list("amount", flat=True))
        assert total == user.credit_balance, user.username


def texts(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


@pytest.fixture
def staff() -> User:
    return StaffFactory()


@pytest.fixture
def staff_client(staff: User) -> Client:
    client = Client()
    client.force_login(staff)
    return client


def funded(staff: User, credits: int = 10) -> User:
    student = StudentFactory()
    grant_credits(student=student, amount=credits, note="Test credits", by=staff)
    student.refresh_from_db()
    return student


def split(moment) -> tuple[str, str]:
    local = timezone.localtime(moment)
    return local.date().isoformat(), local.time().replace(microsecond=0).isoformat()


def session_data(session: Session | None = None, **overrides) -> dict[str, str]:
    """The admin form's POST for `session` (or a fresh on-site session in 3 days)."""
    start = (
        session.date_start
        if session
        else timezone.localtime(timezone.now() + timedelta(days=3)).replace(
            hour=10, minute=0, second=0, microsecond=0
        )
    )
    end = session.date_end if session else start + timedelta(hours=1)
    data = {
        "title": session.title if session else "Footwork clinic",
        "description": session.description if session else "",
        "instructor": str(session.instructor_id) if session else "",
        "group": str(session.group_id or "") if session else "",
        "target_specialization": str(session.target_specialization_id or "") if session else "",
        "session_type": session.session_type if session else "on_site",
        "date_start_0": split(start)[0],
        "date_start_1": split(start)[1],
        "date_end_0": split(end)[0],
        "date_end_1": split(end)[1],
        "location": session.location if session else "",
        "meeting_link": session.meeting_link if session else "",
        "capacity": str(session.capacity) if session else "12",
        "credit_cost": str(session.credit_cost) if session else "2",
        **EMPTY_ROSTER,
    }
    if session and session.mixed_specialization:
        data["mixed_specialization"] = "on"
    data.update({key: str(value) for key, value in overrides.items()})
    return data


def roster_data(response) -> dict[str, str]:
    """The read-only roster's hidden inputs, as the change page rendered them."""
    data = {}
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        for field in formset.management_form:
            data[field.html_name] = str(field.value())
        for form in formset.forms:
            for field in form:
                value = field.value()
                data[field.html_name] = "" if value is None else str(value)
    return data


def post_change(client: Client, session: Session, **overrides):
    page = client.get(change_url(session))
    assert page.status_code == 200
    return client.post(
        change_url(session), {**session_data(session, **overrides), **roster_data(page)}
    )


# --- the changelist -----------------------------------------------------------------------


@pytest.mark.parametrize("size", [10, 200])
def test_changelist_queries_do_not_grow_with_the_rows(
    staff_client, size, django_assert_num_queries
):
    semester = SemesterFactory()
    sessions = SessionFactory.create_batch(size, semester=semester)
    busy = sessions[0]
    BookingFactory.create_batch(2, session=busy)
    BookingFactory(session=busy, status=Booking.Status.WAITLISTED)
    FeedbackFactory(session=busy, rating=4)

    # 2 auth (session, user) + 3 filter choices (semesters, instructors who teach,
    # specializations) + 2 counts (page count, unfiltered total) + 1 page with its
    # statistics + 2 date hierarchy (range, days): 10 at every size.
    with django_assert_num_queries(10):
        response = staff_client.get(CHANGELIST)

    assert response.status_code == 200
    rows = {row.pk: row for row in response.context["cl"].result_list}
    assert len(rows) == min(size, 100)
    assert rows[busy.pk].booking_count == 3
    assert rows[busy.pk].confirmed_count == 2
    assert rows[busy.pk].waitlist_count == 1
    assert rows[busy.pk].available_spots == busy.capacity - 2
    assert rows[busy.pk].feedback_count == 1
    assert rows[busy.pk].average_rating == pytest.approx(4)


def test_counts_and_date_hierarchy_carry_no_statistics(staff_client):
    SessionFactory.create_batch(120)
    with CaptureQueriesContext(connection) as queries:
        staff_client.get(CHANGELIST)
    statements = [query["sql"] for query in queries.captured_queries]
    with_statistics = [sql for sql in statements if "bookings_booking" in sql]
    # Only the page's statement computes them, for the ids of one page.
    assert len(with_statistics) == 1
    assert "LIMIT 100" in with_statistics[0]


def test_session_autocomplete_carries_no_statistics(staff_client):
    wanted = SessionFactory(title="Lob defence")
    SessionFactory(title="Smash")
    with CaptureQueriesContext(connection) as queries:
        response = staff_client.get(
            reverse("admin:autocomplete"),
            {
                "term": "lob",
                "app_label": "engagement",
                "model_name": "project",
                "field_name": "sessions",
            },
        )
    assert [int(row["id"]) for row in response.json()["results"]] == [wanted.pk]
    assert not [q for q in queries.captured_queries if "bookings_booking" in q["sql"]]


SessionAdminColumns = list(admin.site._registry[Session].list_display)


def test_statistics_columns_sort(staff_client):
    quiet, busy, middling = SessionFactory.create_batch(3)
    BookingFactory.create_batch(3, session=busy)
    BookingFactory(session=middling)
    column = SessionAdminColumns.index("confirmed_count") + 1
    response = staff_client.get(CHANGELIST, {"o": f"-{column}"})
    assert [row.pk for row in response.context["cl"].result_list] == [
        busy.pk,
        middling.pk,
        quiet.pk,
    ]


@pytest.mark.parametrize(
    ("lookup", "matching", "other"),
    [
        (
            lambda s: {"semester__id__exact": s.semester_id},
            {},
            {"semester": SemesterFactory},
        ),
        (lambda s: {"session_type__exact": "virtual"}, {"session_type": "virtual"}, {}),
        (lambda s: {"status__exact": "cancelled"}, {"status": "cancelled"}, {}),
        (lambda s: {"instructor__id__exact": s.instructor_id}, {}, {}),
        (
            lambda s: {"target_specialization__id__exact": s.target_specialization_id},
            {"target_specialization": SpecializationFactory},
            {},
        ),
    ],
    ids=["semester", "session_type", "status", "instructor", "target_specialization"],
)
def test_changelist_filters(staff_client, lookup, matching, other):
    made = {name: make() if callable(make) else make for name, make in matching.items()}
    wanted = SessionFactory(**made)
    unwanted = SessionFactory(**{name: make() for name, make in other.items()})
    response = staff_client.get(CHANGELIST, lookup(wanted))
    shown = [row.pk for row in response.context["cl"].result_list]
    assert shown == [wanted.pk]
    assert unwanted.pk not in shown


def test_changelist_search_and_date_drilldown(staff_client):
    wanted = SessionFactory(title="Serve and volley")
    SessionFactory(title="Baseline drills", date_start=wanted.date_start + timedelta(days=40))
    response = staff_client.get(CHANGELIST, {"q": "volley"})
    assert [row.pk for row in response.context["cl"].result_list] == [wanted.pk]
    day = timezone.localtime(wanted.date_start)
    response = staff_client.get(
        CHANGELIST,
        {"date_start__year": day.year, "date_start__month": day.month, "date_start__day": day.day},
    )
    assert [row.pk for row in response.context["cl"].result_list] == [wanted.pk]


# --- actions ---------------------------------------------------------------------------


def test_cancel_action_refunds_every_confirmed_booking(staff_client, staff):
    session = SessionFactory(capacity=2, credit_cost=3)
    other = SessionFactory(credit_cost=1)
    students = [funded(staff) for _ in range(3)]
    for student in students:
        book_session(student=student, session=session, by=student)
    book_session(student=students[0], session=other, by=students[0])
    already = SessionFactory(status=Session.Status.CANCELLED)

    response = staff_client.post(
        CHANGELIST,
        {"action": "cancel_selected_sessions", "_selected_action": [session.pk, already.pk]},
        follow=True,
    )

    assert response.status_code == 200
    session.refresh_from_db()
    assert session.status == Session.Status.CANCELLED
    assert not Booking.objects.live().filter(session=session).exists()
    # Two confirmed seats refunded in full, the waitlisted one was never charged.
    balances = dict(User.objects.values_list("pk", "credit_balance"))
    assert [balances[student.pk] for student in students] == [9, 10, 10]
    other.refresh_from_db()
    assert other.status == Session.Status.SCHEDULED
    messages = texts(response)
    assert "Cancelled 1 session(s): 3 booking(s) cancelled, 6 credit(s) refunded." in messages
    assert any(message.startswith(f"{already}: ") for message in messages)
    assert_ledger_reconciled()


@pytest.mark.parametrize("size", [2, 20])
def test_csv_export_is_one_query_with_every_field_and_statistic(
    staff_client, size, django_assert_num_queries
):
    group = GroupFactory()
    sessions = SessionFactory.create_batch(
        size, semester=group.semester, group=group, title="=HYPERLINK(1)"
    )
    BookingFactory.create_batch(2, session=sessions[0])
    ids = [s.pk for s in sessions]

    # 2 auth + Django's changelist around the action: 3 filter choices and 2 counts,
    # then the filters again for the action's queryset (3) + 1 export: the rows with
    # their related names and statistics. 11 at every size.
    with django_assert_num_queries(11):
        response = staff_client.post(CHANGELIST, {"action": "export_csv", "_selected_action": ids})

    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert len(rows) == size
    header = set(rows[0])
    model_fields = {f.name for f in Session._meta.concrete_fields}
    statistics = {
        "booking_count",
        "confirmed_count",
        "waitlist_count",
        "available_spots",
        "attendance_count",
        "feedback_count",
        "average_rating",
        "project_count",
    }
    assert model_fields | statistics <= header
    first = next(row for row in rows if row["id"] == str(sessions[0].pk))
    assert first["confirmed_count"] == "2"
    assert first["semester"] == group.semester.code
    assert first["group"] == group.name
    assert first["title"] == "'=HYPERLINK(1)"  # defused for spreadsheets


# --- add and change through the services ------------------------------------------------


def test_staff_creates_a_valid_session(staff_client):
    semester = SemesterFactory(location="Court 4")
    instructor = InstructorFactory()
    response = staff_client.post(ADD, session_data(semester=semester.pk, instructor=instructor.pk))
    assert response.status_code == 302, response.context["adminform"].form.errors
    session = Session.objects.get()
    assert session.semester == semester
    assert session.instructor == instructor
    assert session.location == "Court 4"  # the semester's location by default
    assert session.status == Session.Status.SCHEDULED


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        (
            {"meeting_link": "https://meet.example.test/x"},
            "meeting_link",
            "A meeting link is only allowed for virtual sessions.",
        ),
        (
            {"session_type": "virtual", "meeting_link": "ftp://meet.example.test/x"},
            "meeting_link",
            "Enter a valid URL.",
        ),
        (
            {"date_start_0": "2001-01-01", "date_end_0": "2001-01-01"},
            "date_start",
            "within semester",
        ),
        ({"capacity": "0"}, "capacity", "Capacity must be at least 1."),
        ({"date_end_1": "08:00:00", "date_start_1": "09:00:00"}, "date_end", "end after it starts"),
    ],
    ids=["link_on_site", "link_scheme", "outside_semester", "capacity", "end_before_start"],
)
def test_invalid_session_is_refused_on_its_field(staff_client, overrides, field, message):
    semester = SemesterFactory()
    data = session_data(semester=semester.pk, instructor=InstructorFactory().pk, **overrides)
    response = staff_client.post(ADD, data)
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert field in errors
    assert any(message in error for error in errors[field])
    assert not Session.objects.exists()


def test_target_specialization_needs_a_qualified_instructor(staff_client):
    semester = SemesterFactory()
    instructor = InstructorFactory()
    specialization = SpecializationFactory()
    data = session_data(
        semester=semester.pk, instructor=instructor.pk, target_specialization=specialization.pk
    )
    response = staff_client.post(ADD, data)
    assert response.status_code == 200
    assert "target_specialization" in response.context["adminform"].form.errors
    assert not Session.objects.exists()

    QualificationFactory(instructor=instructor, specialization=specialization)
    assert staff_client.post(ADD, data).status_code == 302
    assert Session.objects.get().target_specialization == specialization


def test_capacity_below_confirmed_is_refused_on_the_field(staff_client, staff):
    session = SessionFactory(capacity=3)
    for _ in range(3):
        student = funded(staff)
        book_session(student=student, session=session, by=student)

    response = post_change(staff_client, session, capacity=2)

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "below the 3 confirmed" in errors["capacity"][0]
    session.refresh_from_db()
    assert session.capacity == 3
    assert_ledger_reconciled()


def test_raising_capacity_promotes_the_waitlist(staff_client, staff):
    session = SessionFactory(capacity=1, credit_cost=2)
    first, second, third = (funded(staff) for _ in range(3))
    for student in (first, second, third):
        book_session(student=student, session=session, by=student)

    response = post_change(staff_client, session, capacity=2, title="Renamed")

    assert response.status_code == 302
    session.refresh_from_db()
    assert (session.capacity, session.title) == (2, "Renamed")
    statuses = dict(Booking.objects.filter(session=session).values_list("student_id", "status"))
    assert statuses == {first.pk: "confirmed", second.pk: "confirmed", third.pk: "waitlisted"}
    second.refresh_from_db()
    assert second.credit_balance == 8
    assert_ledger_reconciled()


def test_semester_is_read_only_on_change(staff_client):
    session = SessionFactory()
    elsewhere = SemesterFactory()
    response = post_change(staff_client, session, semester=elsewhere.pk, title="Moved?")
    assert response.status_code == 302
    session.refresh_from_db()
    assert session.title == "Moved?"
    assert session.semester_id != elsewhere.pk


def test_a_virtual_session_turned_on_site_loses_its_link(staff_client):
    session = SessionFactory(session_type=Session.SessionType.VIRTUAL)
    response = post_change(staff_client, session, session_type="on_site")
    assert response.status_code == 302
    session.refresh_from_db()
    assert (session.session_type, session.meeting_link) == ("on_site", "")


def test_a_cancelled_session_is_view_only(staff_client):
    session = SessionFactory(status=Session.Status.CANCELLED)
    page = staff_client.get(change_url(session))
    assert page.status_code == 200
    assert page.context["title"].startswith("View")
    response = staff_client.post(change_url(session), session_data(session, title="Edited"))
    assert response.status_code == 403
    session.refresh_from_db()
    assert session.title != "Edited"


@pytest.mark.parametrize("bookings", [2, 20])
def test_change_page_roster_is_read_only_and_constant(
    staff_client, bookings, django_assert_num_queries
):
    session = SessionFactory(capacity=30)
    BookingFactory.create_batch(bookings, session=session)
    # Cached per process after its first use: warmed so the budget is order-independent.
    ContentType.objects.get_for_model(Session)
    # 2 auth + 1 session with statistics + 1 roster with students, sessions and
    # waitlist positions + 1 semester (read-only field) + 1 instructor (the
    # autocomplete widget's selected option): 6 whatever the roster's size.
    with django_assert_num_queries(6):
        response = staff_client.get(change_url(session))
    assert response.status_code == 200
    (roster,) = response.context["inline_admin_formsets"]
    assert len(roster.formset.forms) == bookings
    assert not roster.has_add_permission
    assert not roster.has_change_permission
    assert not roster.has_delete_permission


# --- deletes ---------------------------------------------------------------------------


PROTECTING = [
    (lambda s: BookingFactory(session=s, status=Booking.Status.CANCELLED), "1 bookings"),
    (lambda s: AttendanceFactory(session=s), "1 attendance"),
    (lambda s: FeedbackFactory(session=s), "1 feedback"),
    (lambda s: ProjectSessionFactory(session=s), "1 projects"),
]


def row_counts() -> list[int]:
    models = (Session, Semester, Group, Booking, Attendance, Feedback, ProjectSession)
    return [model.objects.count() for model in models]


@pytest.mark.parametrize(("protect", "named"), PROTECTING)
def test_a_protected_session_is_not_deleted(staff_client, protect, named):
    session = PastSessionFactory()
    protect(session)
    before = row_counts()

    page = staff_client.get(delete_url(session))
    assert page.status_code == 200
    assert any(named in line for line in page.context["protected"])
    response = staff_client.post(delete_url(session), {"post": "yes"})

    assert response.status_code == 200
    assert response.context["protected"]
    assert row_counts() == before


def test_bulk_delete_with_a_protected_session_deletes_nothing(staff_client):
    free, protected = SessionFactory.create_batch(2)
    BookingFactory(session=protected)
    before = row_counts()

    response = staff_client.post(
        CHANGELIST,
        {"action": "delete_selected", "_selected_action": [free.pk, protected.pk], "post": "yes"},
    )

    assert response.status_code == 200
    assert response.context["protected"]
    assert row_counts() == before


def test_an_unreferenced_session_is_deleted(staff_client):
    session = SessionFactory()
    response = staff_client.post(delete_url(session), {"post": "yes"})
    assert response.status_code == 302
    assert not Session.objects.filter(pk=session.pk).exists()


def test_a_semester_with_sessions_is_not_deleted_singly_or_in_bulk(staff_client):
    session = SessionFactory()
    semester = session.semester
    empty = SemesterFactory()
    before = row_counts()

    page = staff_client.post(delete_url(semester), {"post": "yes"})
    assert page.status_code == 200
    assert page.context["protected"] == [f"{semester}: referenced by 1 sessions"]
    bulk = staff_client.post(
        reverse("admin:scheduling_semester_changelist"),
        {"action": "delete_selected", "_selected_action": [semester.pk, empty.pk], "post": "yes"},
    )
    assert bulk.status_code == 200
    assert bulk.context["protected"]
    assert row_counts() == before


def test_an_empty_semester_is_deleted(staff_client):
    semester = SemesterFactory()
    assert staff_client.post(delete_url(semester), {"post": "yes"}).status_code == 302
    assert not Semester.objects.filter(pk=semester.pk).exists()


def test_semester_saves_through_its_service(staff_client):
    master = InstructorFactory()
    data = {
        "code": "S-TEST",
        "name": "Test",
        "start_date": "2030-01-10",
        "end_date": "2030-01-01",
        "location": "Hall",
        "is_active": "on",
        "master_instructor": master.pk,
    }
    url = reverse("admin:scheduling_semester_add")
    refused = staff_client.post(url, data)
    assert refused.status_code == 200
    assert "end_date" in refused.context["adminform"].form.errors
    assert staff_client.post(url, {**data, "end_date": "2030-06-01"}).status_code == 302
    assert Semester.objects.get(code="S-TEST").master_instructor == master


SERIES_CHANGELIST = reverse("admin:scheduling_sessionseries_changelist")


@pytest.mark.parametrize("size", [1, 3])
def test_series_are_listed_with_their_occurrences_read_only(
    staff_client, staff, size, django_assert_num_queries
):
    from datetime import time

    from scheduling.series import series_create

    for n in range(size):
        semester = SemesterFactory(location=f"Court {n}")
        series_create(
            by=staff,
            semester=semester,
            title="Weekly drills",
            instructor=semester.master_instructor,
            weekdays=[1, 4],
            start_time=time(18, 0),
            duration_minutes=60,
            first_date=timezone.localdate() + timedelta(days=1),
            count=4,
        )
    series = SessionSeries.objects.first()

    # 2 session + user; 1 semester filter choices; 2 counts; 1 page of series with their
    # occurrence counts, semester and instructor joined: 6 at every size.
    with django_assert_num_queries(6):
        listing = staff_client.get(SERIES_CHANGELIST)
    detail = staff_client.get(reverse("admin:scheduling_sessionseries_change", args=[series.pk]))

    assert listing.status_code == 200
    assert listing.content.decode().count("Weekly drills") == size
    assert detail.status_code == 200
    html = detail.content.decode()
    assert html.count('class="field-date_start"') >= 4
    assert 'name="_save"' not in html
