"""The instructor pages through Django's test client: access, forms, messages, query budgets."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import InstructorFactory, StaffFactory, StudentFactory
from bookings.models import Booking, CreditTransaction
from bookings.tests.factories import BookingFactory
from engagement.models import Attendance
from engagement.tests.factories import AttendanceFactory, FeedbackFactory, ProjectSessionFactory
from scheduling.models import Session
from scheduling.tests.factories import (
    GroupFactory,
    PastSessionFactory,
    QualificationFactory,
    SemesterFactory,
    SessionFactory,
    SpecializationFactory,
)

pytestmark = pytest.mark.django_db


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def local_input(day_offset: int, hour: int) -> str:
    """A datetime-local value, as the browser sends it."""
    day = timezone.localdate() + timedelta(days=day_offset)
    return f"{day.isoformat()}T{hour:02d}:00"


def aware(day_offset: int, hour: int) -> datetime:
    day = timezone.localdate() + timedelta(days=day_offset)
    return timezone.make_aware(datetime.combine(day, time(hour, 0)))


@pytest.fixture
def semester():
    return SemesterFactory(location="Court 3, North campus")


@pytest.fixture
def master(semester):
    return semester.master_instructor


@pytest.fixture
def session(semester):
    return SessionFactory(semester=semester, title="Serve drills")


def login(client, user):
    client.force_login(user)
    return client


def create_payload(semester, **overrides) -> dict:
    payload = {
        "semester": semester.pk,
        "title": "Footwork basics",
        "description": "Ladders and cones.",
        "session_type": "on_site",
        "date_start": local_input(5, 10),
        "date_end": local_input(5, 12),
        "capacity": "12",
        "credit_cost": "2",
        "location": "",
        "meeting_link": "",
        "target_specialization": "",
        "group": "",
    }
    payload.update(overrides)
    return payload


def edit_payload(session, **overrides) -> dict:
    local = timezone.localtime
    payload = {
        "title": session.title,
        "description": session.description,
        "session_type": session.session_type,
        "date_start": local(session.date_start).strftime("%Y-%m-%dT%H:%M"),
        "date_end": local(session.date_end).strftime("%Y-%m-%dT%H:%M"),
        "capacity": str(session.capacity),
        "credit_cost": str(session.credit_cost),
        "location": session.location,
        "meeting_link": session.meeting_link,
        "target_specialization": session.target_specialization_id or "",
        "group": session.group_id or "",
    }
    if session.mixed_specialization:
        payload["mixed_specialization"] = "on"
    payload.update(overrides)
    return payload


# --- Access --------------------------------------------------------------------------------

OBJECT_PAGES = [
    ("session-detail", "get"),
    ("session-update", "get"),
    ("session-delete", "get"),
    ("session-cancel", "post"),
    ("session-attendance", "post"),
]
ALL_PAGES = [("session-list", "get"), ("session-create", "get"), *OBJECT_PAGES]


def url_of(name: str, session: Session) -> str:
    if name in {"session-list", "session-create"}:
        return reverse(f"instructor:{name}")
    return reverse(f"instructor:{name}", kwargs={"pk": session.pk})


@pytest.mark.parametrize(("name", "method"), ALL_PAGES)
def test_anonymous_visitors_are_sent_to_the_login_page(client, session, name, method):
    url = url_of(name, session)
    response = getattr(client, method)(url)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={url}"


@pytest.mark.parametrize(("name", "method"), ALL_PAGES)
def test_students_are_refused(client, session, name, method):
    response = getattr(login(client, StudentFactory()), method)(url_of(name, session))
    assert response.status_code == 403


@pytest.mark.parametrize(("name", "method"), OBJECT_PAGES)
def test_a_strangers_session_is_not_found(client, session, name, method):
    response = getattr(login(client, InstructorFactory()), method)(url_of(name, session))
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("name", "method", "status"),
    [
        ("session-detail", "get", 200),
        ("session-update", "get", 403),
        ("session-delete", "get", 403),
        ("session-cancel", "post", 403),
    ],
)
def test_the_teaching_instructor_sees_but_may_not_manage(client, semester, name, method, status):
    teacher = InstructorFactory()
    session = SessionFactory(semester=semester, instructor=teacher)
    response = getattr(login(client, teacher), method)(url_of(name, session))
    assert response.status_code == status
    assert Session.objects.get(pk=session.pk).status == Session.Status.SCHEDULED


@pytest.mark.parametrize("who", ["master", "staff"])
@pytest.mark.parametrize(
    "name", ["session-list", "session-create", "session-detail", "session-update", "session-delete"]
)
def test_master_instructor_and_staff_open_every_page(client, session, who, name):
    user = session.semester.master_instructor if who == "master" else StaffFactory()
    response = login(client, user).get(url_of(name, session))
    assert response.status_code == 200


def test_root_redirects_to_the_session_list(client, master):
    response = login(client, master).get("/")
    assert response.status_code == 302
    assert response["Location"] == reverse("instructor:session-list")


def test_login_page_logs_in_and_lands_on_the_session_list(client, master):
    page = client.get(reverse("login"))
    assert page.status_code == 200
    assert b'name="username"' in page.content

    response = client.post(
        reverse("login"), {"username": master.username, "password": "correct-horse-battery"}
    )
    assert response.status_code == 302
    # The role-aware landing sends an instructor on to their sessions.
    assert response["Location"] == reverse("home")
    assert client.get(reverse("home"))["Location"] == reverse("instructor:session-list")


def test_login_with_a_wrong_password_shows_an_error(client, master):
    response = client.post(reverse("login"), {"username": master.username, "password": "nope"})
    assert response.status_code == 200
    assert b"form-errors" in response.content
    assert "_auth_user_id" not in client.session


def test_logout_is_a_post_that_ends_the_session(client, master):
    login(client, master)
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert "_auth_user_id" not in client.session


# --- My sessions ---------------------------------------------------------------------------


def test_the_list_shows_own_sessions_with_their_statistics(client, semester, master):
    session = SessionFactory(semester=semester, title="Return of serve", capacity=4)
    BookingFactory.create_batch(3, session=session)
    BookingFactory(session=session, status=Booking.Status.WAITLISTED)
    BookingFactory(session=session, status=Booking.Status.CANCELLED)
    SessionFactory(title="Someone else's session")

    response = login(client, master).get(reverse("instructor:session-list"))

    assert response.status_code == 200
    rows = list(response.context["sessions"])
    assert [row.title for row in rows] == ["Return of serve"]
    row = rows[0]
    assert (row.confirmed_count, row.waitlist_count, row.capacity) == (3, 1, 4)
    html = response.content.decode()
    assert "3/4" in html
    assert '<span class="w15"></span>' in html  # the occupancy bar, 75% in 5% steps
    assert "Someone else" not in html


def test_the_list_shows_attendance_and_the_average_rating(client, semester, master):
    past = PastSessionFactory(semester=semester)
    AttendanceFactory(session=past)
    FeedbackFactory(session=past, rating=4)
    FeedbackFactory(session=past, rating=5)

    response = login(client, master).get(reverse("instructor:session-list"), {"when": "past"})

    row = response.context["sessions"][0]
    assert (row.attendance_count, row.average_rating) == (1, 4.5)
    assert "★ 4.5" in response.content.decode()


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, ["Tomorrow", "Next week"]),  # upcoming by default
        ({"when": "upcoming"}, ["Tomorrow", "Next week"]),
        ({"when": "past"}, ["Yesterday", "Other semester"]),  # most recent first
        ({"when": ""}, ["Other semester", "Yesterday", "Tomorrow", "Next week"]),
        ({"when": "", "semester": "OTHER"}, ["Other semester"]),
        ({"when": "", "semester": "abc"}, []),  # an invalid value shows nothing, not everything
    ],
)
def test_the_list_uses_the_shared_session_filter(client, semester, master, query, expected):
    other = SemesterFactory(master_instructor=master)
    now = timezone.now()
    SessionFactory(
        semester=semester,
        title="Yesterday",
        date_start=now - timedelta(days=1),
        date_end=now - timedelta(days=1) + timedelta(hours=1),
    )
    SessionFactory(semester=semester, title="Tomorrow", date_start=now + timedelta(days=1))
    SessionFactory(semester=semester, title="Next week", date_start=now + timedelta(days=7))
    SessionFactory(
        semester=other,
        title="Other semester",
        date_start=now - timedelta(days=3),
        date_end=now - timedelta(days=3) + timedelta(hours=1),
    )
    if query.get("semester") == "OTHER":
        query = {**query, "semester": str(other.pk)}

    response = login(client, master).get(reverse("instructor:session-list"), query)

    assert [row.title for row in response.context["sessions"]] == expected


def test_the_semester_filter_offers_the_users_semesters_only(client, semester, master):
    taught = SemesterFactory()
    SessionFactory(semester=taught, instructor=master)
    unrelated = SemesterFactory()

    response = login(client, master).get(reverse("instructor:session-list"))

    html = response.content.decode()
    assert f'value="{semester.pk}"' in html
    assert f'value="{taught.pk}"' in html
    assert unrelated.code not in html


def test_the_list_is_paginated(client, semester, master):
    start = timezone.now() + timedelta(days=1)
    for n in range(30):
        # Two hours apart: one instructor's sessions may not overlap.
        SessionFactory(
            semester=semester, title=f"S{n:02d}", date_start=start + timedelta(hours=2 * n)
        )
    client = login(client, master)

    first = client.get(reverse("instructor:session-list"))
    second = client.get(reverse("instructor:session-list"), {"page": 2})

    assert len(first.context["sessions"]) == 25
    assert [row.title for row in second.context["sessions"]] == [f"S{n}" for n in range(25, 30)]
    assert "page=2" in first.content.decode()


@pytest.mark.parametrize("session_count", [1, 10, 50])
def test_the_list_costs_the_same_queries_at_every_size(
    client, semester, master, session_count, django_assert_num_queries
):
    for session in SessionFactory.create_batch(session_count, semester=semester):
        BookingFactory(session=session)
        BookingFactory(session=session, status=Booking.Status.WAITLISTED)
        FeedbackFactory(session=session)
    client = login(client, master)
    url = reverse("instructor:session-list")

    client.get(url)  # the first visit creates the calendar address
    # 1 django session + 1 user, 1 semesters for the filter, 1 count (no statistics),
    # 1 page: the rows and every statistic, for the page's ids only, 1 the calendar address.
    with django_assert_num_queries(6):
        response = client.get(url)

    assert response.status_code == 200
    assert len(response.context["sessions"]) == min(session_count, 25)


# --- Create --------------------------------------------------------------------------------


def test_create_saves_through_the_service_and_says_so(client, semester, master):
    response = login(client, master).post(
        reverse("instructor:session-create"), create_payload(semester)
    )

    session = Session.objects.get(title="Footwork basics")
    assert response.status_code == 302
    assert response["Location"] == reverse("instructor:session-detail", args=[session.pk])
    assert session.semester == semester
    assert session.instructor == master
    assert (session.capacity, session.credit_cost) == (12, 2)
    # A blank location on site takes the semester's.
    assert session.location == "Court 3, North campus"
    assert messages_of(response) == ["Session “Footwork basics” created."]


def test_the_form_shows_the_semesters_location_as_the_default(client, semester, master):
    response = login(client, master).get(reverse("instructor:session-create"))
    html = response.content.decode()
    assert 'data-location="Court 3, North campus"' in html
    assert "Leave blank to use the semester" in html


@pytest.mark.parametrize("time_zone", ["UTC", "Europe/Budapest", "America/New_York"])
def test_datetime_inputs_are_read_in_the_academys_time_zone(
    client, semester, master, settings, time_zone
):
    settings.TIME_ZONE = time_zone
    # A new user's zone is the academy's (User.time_zone's default); pages read times in it.
    master.time_zone = time_zone
    master.save(update_fields=["time_zone"])
    login(client, master).post(reverse("instructor:session-create"), create_payload(semester))

    session = Session.objects.get(title="Footwork basics")
    day = timezone.localdate() + timedelta(days=5)
    expected = datetime.combine(day, time(10, 0), tzinfo=ZoneInfo(time_zone))
    assert session.date_start == expected


def test_a_virtual_session_keeps_its_meeting_link(client, semester, master):
    payload = create_payload(
        semester, session_type="virtual", meeting_link="https://meet.example.test/abc"
    )
    login(client, master).post(reverse("instructor:session-create"), payload)

    session = Session.objects.get(title="Footwork basics")
    assert (session.session_type, session.meeting_link) == (
        "virtual",
        "https://meet.example.test/abc",
    )
    assert session.location == ""


@pytest.mark.parametrize(
    ("overrides", "field", "text"),
    [
        (
            {"meeting_link": "https://meet.example.test/x"},
            "meeting_link",
            "only allowed for virtual",
        ),
        ({"date_end": local_input(5, 9)}, "date_end", "must end after it starts"),
        (
            {"date_start": local_input(-100, 9), "date_end": local_input(-100, 10)},
            "date_start",
            "must start within semester",
        ),
        ({"capacity": "0"}, "capacity", "at least 1"),
        ({"title": ""}, "title", "required"),
        ({"date_start": "tomorrow"}, "date_start", "valid date/time"),
        (
            {"session_type": "virtual", "meeting_link": "ftp://files.example.test"},
            "meeting_link",
            "valid URL",
        ),
    ],
)
def test_invalid_input_is_shown_beside_its_field(client, semester, master, overrides, field, text):
    response = login(client, master).post(
        reverse("instructor:session-create"), create_payload(semester, **overrides)
    )

    assert response.status_code == 200
    errors = response.context["form"].errors
    assert text in " ".join(errors[field])
    assert not Session.objects.filter(title="Footwork basics").exists()
    assert f'id="row-{field}"' in response.content.decode()


def test_semester_choices_are_the_semesters_the_user_manages(client, semester, master):
    foreign = SemesterFactory()
    client = login(client, master)

    page = client.get(reverse("instructor:session-create"))
    choices = list(page.context["form"].fields["semester"].queryset)
    refused = client.post(reverse("instructor:session-create"), create_payload(foreign))

    assert choices == [semester]
    assert "semester" in refused.context["form"].errors
    assert not Session.objects.filter(semester=foreign).exists()


def test_staff_may_create_in_any_semester(client, semester):
    response = login(client, StaffFactory()).post(
        reverse("instructor:session-create"), create_payload(semester)
    )
    assert response.status_code == 302
    assert Session.objects.filter(semester=semester, title="Footwork basics").exists()


def test_target_specialization_choices_are_the_instructors_active_qualifications(
    client, semester, master
):
    held = QualificationFactory(instructor=master).specialization
    QualificationFactory(
        instructor=master,
        valid_from=timezone.localdate() - timedelta(days=90),
        valid_until=timezone.localdate() - timedelta(days=1),
    )
    not_held = SpecializationFactory()
    client = login(client, master)

    page = client.get(reverse("instructor:session-create"))
    refused = client.post(
        reverse("instructor:session-create"),
        create_payload(semester, target_specialization=not_held.pk),
    )
    accepted = client.post(
        reverse("instructor:session-create"),
        create_payload(semester, target_specialization=held.pk, title="Targeted"),
    )

    assert list(page.context["form"].fields["target_specialization"].queryset) == [held]
    assert "target_specialization" in refused.context["form"].errors
    assert accepted.status_code == 302
    assert Session.objects.get(title="Targeted").target_specialization == held


def test_group_choices_are_the_chosen_semesters_groups(client, semester, master):
    own = GroupFactory(semester=semester)
    elsewhere = GroupFactory(semester=SemesterFactory(master_instructor=master))
    client = login(client, master)

    refused = client.post(
        reverse("instructor:session-create"), create_payload(semester, group=elsewhere.pk)
    )
    accepted = client.post(
        reverse("instructor:session-create"), create_payload(semester, group=own.pk)
    )

    assert "group" in refused.context["form"].errors
    assert accepted.status_code == 302
    assert Session.objects.get(title="Footwork basics").group == own


def test_a_stranger_instructor_gets_no_semester_to_create_in(client, semester):
    response = login(client, InstructorFactory()).post(
        reverse("instructor:session-create"), create_payload(semester)
    )
    assert response.status_code == 200
    assert "semester" in response.context["form"].errors
    assert "not the master instructor of any semester" in response.content.decode()
    assert not Session.objects.exists()


# --- Edit ----------------------------------------------------------------------------------


def test_edit_saves_the_changes(client, session, master):
    payload = edit_payload(session, title="Serve drills II", capacity="30")
    response = login(client, master).post(
        reverse("instructor:session-update", args=[session.pk]), payload
    )

    session.refresh_from_db()
    assert response.status_code == 302
    assert (session.title, session.capacity) == ("Serve drills II", 30)
    assert messages_of(response) == ["Session “Serve drills II” saved."]


def test_the_semester_cannot_be_changed_on_edit(client, session, master):
    other = SemesterFactory(master_instructor=master)
    semester_before = session.semester_id
    client = login(client, master)

    page = client.get(reverse("instructor:session-update", args=[session.pk]))
    client.post(
        reverse("instructor:session-update", args=[session.pk]),
        edit_payload(session, semester=other.pk, title="Moved?"),
    )

    session.refresh_from_db()
    assert "semester" not in page.context["form"].fields
    assert (session.semester_id, session.title) == (semester_before, "Moved?")


def test_an_edit_that_changes_nothing_says_so(client, session, master):
    response = login(client, master).post(
        reverse("instructor:session-update", args=[session.pk]), edit_payload(session)
    )
    assert messages_of(response) == ["Nothing changed."]


def test_leaving_the_virtual_type_clears_the_link(client, semester, master):
    session = SessionFactory(semester=semester, session_type="virtual")
    assert session.meeting_link

    # The browser disables the hidden link field, so it is not posted at all.
    payload = edit_payload(session, session_type="on_site")
    del payload["meeting_link"]
    login(client, master).post(reverse("instructor:session-update", args=[session.pk]), payload)

    session.refresh_from_db()
    assert (session.session_type, session.meeting_link) == ("on_site", "")


def test_lowering_capacity_below_the_confirmed_bookings_is_a_form_error(client, session, master):
    BookingFactory.create_batch(3, session=session)
    response = login(client, master).post(
        reverse("instructor:session-update", args=[session.pk]), edit_payload(session, capacity="2")
    )

    assert response.status_code == 200
    assert "below the 3 confirmed bookings" in " ".join(response.context["form"].non_field_errors())
    # The page still names the session as stored, not the refused values.
    assert response.context["session"].capacity == 20
    session.refresh_from_db()
    assert session.capacity == 20


def test_a_cancelled_session_cannot_be_edited(client, session, master):
    Session.objects.filter(pk=session.pk).update(status=Session.Status.CANCELLED)
    response = login(client, master).post(
        reverse("instructor:session-update", args=[session.pk]), edit_payload(session, title="New")
    )
    assert "cancelled session cannot be edited" in " ".join(
        response.context["form"].non_field_errors()
    )
    session.refresh_from_db()
    assert session.title == "Serve drills"


def test_edit_keeps_a_target_the_instructor_no_longer_holds(client, semester, master):
    lapsed = SpecializationFactory()
    session = SessionFactory(semester=semester, target_specialization=lapsed)

    response = login(client, master).post(
        reverse("instructor:session-update", args=[session.pk]),
        edit_payload(session, title="Renamed"),
    )

    session.refresh_from_db()
    assert response.status_code == 302
    assert (session.title, session.target_specialization) == ("Renamed", lapsed)


def test_edit_offers_only_the_sessions_semesters_groups(client, session, master):
    own = GroupFactory(semester=session.semester)
    GroupFactory(semester=SemesterFactory(master_instructor=master))
    response = login(client, master).get(reverse("instructor:session-update", args=[session.pk]))
    assert list(response.context["form"].fields["group"].queryset) == [own]


# --- Detail and attendance -----------------------------------------------------------------


def test_detail_shows_roster_waitlist_and_feedback(client, semester, master):
    session = PastSessionFactory(semester=semester, capacity=2)
    confirmed = BookingFactory.create_batch(2, session=session)
    waiting = BookingFactory.create_batch(2, session=session, status=Booking.Status.WAITLISTED)
    FeedbackFactory(session=session, rating=3, comment="Too fast.")
    FeedbackFactory(session=session, rating=4)

    response = login(client, master).get(reverse("instructor:session-detail", args=[session.pk]))

    assert [b.student for b in response.context["roster"]] == [b.student for b in confirmed]
    waitlist = response.context["waitlist"]
    assert [(b.student, b.waitlist_position) for b in waitlist] == [
        (waiting[0].student, 1),
        (waiting[1].student, 2),
    ]
    html = response.content.decode()
    assert "★ 3.5" in html
    assert "Too fast." in html
    assert "#2" in html


@pytest.mark.parametrize("booking_count", [1, 10])
def test_detail_costs_the_same_queries_at_every_size(
    client, semester, master, booking_count, django_assert_num_queries
):
    session = PastSessionFactory(semester=semester, capacity=booking_count)
    for booking in BookingFactory.create_batch(booking_count, session=session):
        AttendanceFactory(session=session, student=booking.student)
        FeedbackFactory(session=session, student=booking.student)
    BookingFactory.create_batch(booking_count, session=session, status=Booking.Status.WAITLISTED)
    client = login(client, master)

    # 1 django session + 1 user, 1 session with its statistics and related rows,
    # 1 bookings with waitlist positions, 1 attendance statuses, 1 feedback,
    # 1 history (activities with their users), 1 navigation (may the user create
    # sessions: an EXISTS on the semesters they master).
    with django_assert_num_queries(8):
        response = client.get(reverse("instructor:session-detail", args=[session.pk]))

    assert len(response.context["roster"]) == booking_count


def test_attendance_is_not_offered_before_the_start(client, session, master):
    BookingFactory(session=session)
    client = login(client, master)

    page = client.get(reverse("instructor:session-detail", args=[session.pk]))
    response = client.post(reverse("instructor:session-attendance", args=[session.pk]), {})

    assert "attendance_form" not in page.context
    assert "once the session has started" in page.content.decode()
    assert messages_of(response) == ["Attendance opens when the session starts."]


def test_attendance_is_saved_for_the_whole_roster(client, semester, master):
    session = PastSessionFactory(semester=semester)
    first, second, third = BookingFactory.create_batch(3, session=session)
    AttendanceFactory(session=session, student=third.student, status=Attendance.Status.ABSENT)
    client = login(client, master)
    page = client.get(reverse("instructor:session-detail", args=[session.pk]))
    assert page.context["attendance_form"][f"student_{third.student_id}"].value() == "absent"

    response = client.post(
        reverse("instructor:session-attendance", args=[session.pk]),
        {
            f"student_{first.student_id}": "present",
            f"student_{second.student_id}": "late",
            f"student_{third.student_id}": "excused",
        },
    )

    recorded = dict(Attendance.objects.filter(session=session).values_list("student", "status"))
    assert recorded == {
        first.student_id: "present",
        second.student_id: "late",
        third.student_id: "excused",
    }
    assert messages_of(response) == ["Attendance saved for 3 students."]
    assert Attendance.objects.get(student=first.student).marked_by == master


def test_attendance_on_a_started_session_without_a_roster_says_so(client, semester, master):
    session = PastSessionFactory(semester=semester)
    response = login(client, master).post(
        reverse("instructor:session-attendance", args=[session.pk]), {}
    )
    assert messages_of(response) == ["No student holds a confirmed booking to mark."]


def test_attendance_ignores_students_without_a_confirmed_booking(client, semester, master):
    session = PastSessionFactory(semester=semester)
    booked = BookingFactory(session=session)
    waiting = BookingFactory(session=session, status=Booking.Status.WAITLISTED)

    login(client, master).post(
        reverse("instructor:session-attendance", args=[session.pk]),
        {f"student_{booked.student_id}": "present", f"student_{waiting.student_id}": "present"},
    )

    assert list(Attendance.objects.values_list("student", flat=True)) == [booked.student_id]


def test_an_unknown_attendance_status_is_refused(client, semester, master):
    session = PastSessionFactory(semester=semester)
    booked = BookingFactory(session=session)

    response = login(client, master).post(
        reverse("instructor:session-attendance", args=[session.pk]),
        {f"student_{booked.student_id}": "asleep"},
    )

    assert not Attendance.objects.exists()
    assert messages_of(response) == ["Choose one of the listed statuses for each student."]


def test_the_teaching_instructor_records_attendance(client, semester):
    teacher = InstructorFactory()
    session = PastSessionFactory(semester=semester, instructor=teacher)
    booked = BookingFactory(session=session)

    login(client, teacher).post(
        reverse("instructor:session-attendance", args=[session.pk]),
        {f"student_{booked.student_id}": "present"},
    )

    assert Attendance.objects.get().status == "present"


# --- Delete and cancel ---------------------------------------------------------------------


def test_a_session_nothing_refers_to_is_deleted_after_confirmation(client, session, master):
    client = login(client, master)
    page = client.get(reverse("instructor:session-delete", args=[session.pk]))
    response = client.post(reverse("instructor:session-delete", args=[session.pk]))

    assert b"Delete the session" in page.content
    assert response["Location"] == reverse("instructor:session-list")
    assert not Session.objects.filter(pk=session.pk).exists()
    assert messages_of(response) == ["Session “Serve drills” deleted."]


def test_a_protected_session_lists_what_blocks_it_and_offers_cancelling(client, semester, master):
    session = PastSessionFactory(semester=semester)
    BookingFactory.create_batch(2, session=session)
    AttendanceFactory(session=session)
    FeedbackFactory.create_batch(3, session=session)
    ProjectSessionFactory(session=session)

    response = login(client, master).get(reverse("instructor:session-delete", args=[session.pk]))

    assert response.context["blocking"] == [
        ("bookings (of any status)", 2),
        ("attendance records", 1),
        ("feedback entries", 3),
        ("projects", 1),
    ]
    html = response.content.decode()
    assert "cannot be deleted" in html
    assert reverse("instructor:session-cancel", args=[session.pk]) in html
    assert "Delete the session" not in html


def test_deleting_a_protected_session_is_refused_with_the_counts(client, session, master):
    BookingFactory(session=session, status=Booking.Status.CANCELLED)

    response = login(client, master).post(reverse("instructor:session-delete", args=[session.pk]))

    assert response.status_code == 200
    assert response.context["blocking"] == [("bookings (of any status)", 1)]
    assert Session.objects.filter(pk=session.pk).exists()
    assert messages_of(response) == ["The session cannot be deleted: other records refer to it."]


def test_cancelling_refunds_and_reports(client, semester, master):
    session = SessionFactory(semester=semester, credit_cost=3, title="Serve drills")
    confirmed = BookingFactory.create_batch(2, session=session)
    BookingFactory(session=session, status=Booking.Status.WAITLISTED)

    response = login(client, master).post(reverse("instructor:session-cancel", args=[session.pk]))

    session.refresh_from_db()
    assert session.status == Session.Status.CANCELLED
    assert response["Location"] == reverse("instructor:session-detail", args=[session.pk])
    assert messages_of(response) == [
        "Session “Serve drills” cancelled: 3 bookings cancelled, 6 credits refunded."
    ]
    refunds = CreditTransaction.objects.filter(kind=CreditTransaction.Kind.REFUND)
    assert sorted(refunds.values_list("user", "amount")) == sorted(
        (booking.student_id, 3) for booking in confirmed
    )


def test_cancelling_twice_says_it_is_already_cancelled(client, session, master):
    client = login(client, master)
    client.post(reverse("instructor:session-cancel", args=[session.pk]))
    response = client.post(reverse("instructor:session-cancel", args=[session.pk]))
    # The first answer's message was never displayed, so it is still queued first.
    assert messages_of(response)[-1] == "The session is already cancelled."


def test_cancel_only_answers_post(client, session, master):
    response = login(client, master).get(reverse("instructor:session-cancel", args=[session.pk]))
    assert response.status_code == 405
