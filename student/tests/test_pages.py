"""The student pages through Django's test client: access, outcomes, words, query budgets."""

from datetime import datetime, time, timedelta

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from accounts.tests.factories import InstructorFactory, StaffFactory, StudentFactory
from bookings.models import Booking, CreditTransaction
from bookings.tests.factories import BookingFactory, CreditGrantFactory
from engagement.models import Feedback
from engagement.register import attendance_register
from engagement.tests.factories import AttendanceFactory, ProjectFactory, ProjectSessionFactory
from scheduling.models import Session
from scheduling.tests.factories import (
    GroupFactory,
    PastSessionFactory,
    SemesterFactory,
    SessionFactory,
    SpecializationFactory,
)

pytestmark = pytest.mark.django_db


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


@pytest.fixture
def semester():
    return SemesterFactory(location="Court 3, North campus")


@pytest.fixture
def student():
    student = StudentFactory(first_name="Ada", last_name="Lovelace")
    CreditGrantFactory(user=student, amount=7)
    student.refresh_from_db()
    return student


@pytest.fixture
def session(semester):
    return SessionFactory(semester=semester, title="Serve drills", credit_cost=2, capacity=3)


def login(client, user):
    client.force_login(user)
    return client


def student_urls(session: Session, booking: Booking) -> list[str]:
    return [
        reverse("student:schedule"),
        reverse("student:session", args=[session.pk]),
        reverse("student:book", args=[session.pk]),
        reverse("student:feedback", args=[session.pk]),
        reverse("student:bookings"),
        reverse("student:cancel", args=[booking.pk]),
        reverse("student:credits"),
        reverse("student:attendance"),
        reverse("student:projects"),
        reverse("student:profile"),
    ]


# --- Who may reach which page ------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_log_in(client, session):
    booking = BookingFactory(session=session)
    for url in student_urls(session, booking):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("login")), url


@pytest.mark.parametrize("role", ["instructor", "staff"])
def test_instructors_and_staff_get_a_403_that_leads_to_their_sessions(client, session, role):
    user = InstructorFactory() if role == "instructor" else StaffFactory()
    booking = BookingFactory(session=session)
    login(client, user)
    for url in student_urls(session, booking):
        response = client.get(url)
        assert response.status_code == 403, url
        assert reverse("instructor:session-list").encode() in response.content
        assert reverse("student:schedule").encode() not in response.content


def test_every_page_opens_for_the_student(client, student, session):
    booking = BookingFactory(session=session, student=student)
    login(client, student)
    for url in student_urls(session, booking):
        assert client.get(url).status_code == 200, url


def test_a_student_never_reaches_another_students_booking(client, student, session):
    theirs = BookingFactory(session=session)
    login(client, student)
    url = reverse("student:cancel", args=[theirs.pk])
    assert client.get(url).status_code == 404
    assert client.post(url).status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == Booking.Status.CONFIRMED


@pytest.mark.parametrize(
    "hidden",
    [
        "inactive_semester",
        "semester_over",
        "other_group",
        "other_specialization",
    ],
)
def test_a_session_outside_the_students_visibility_is_a_404(client, student, hidden):
    if hidden == "inactive_semester":
        session = SessionFactory(semester=SemesterFactory(is_active=False))
    elif hidden == "semester_over":
        today = timezone.localdate()
        semester = SemesterFactory(
            start_date=today - timedelta(days=90), end_date=today - timedelta(days=10)
        )
        session = Session.objects.create(
            title="Old",
            semester=semester,
            instructor=semester.master_instructor,
            date_start=timezone.now() - timedelta(days=20),
            date_end=timezone.now() - timedelta(days=20) + timedelta(hours=1),
        )
    elif hidden == "other_group":
        group = GroupFactory(members=[StudentFactory()])
        session = SessionFactory(semester=group.semester, group=group)
    else:
        session = SessionFactory(target_specialization=SpecializationFactory())
    login(client, student)
    for name in ("student:session", "student:book", "student:feedback"):
        assert client.get(reverse(name, args=[session.pk])).status_code == 404, name
    assert client.post(reverse("student:book", args=[session.pk])).status_code == 404
    assert not Booking.objects.filter(session=session).exists()
    schedule = client.get(reverse("student:schedule"))
    assert session not in schedule.context["sessions"]


# --- Landing and navigation --------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "landing"),
    [
        ("student", "student:schedule"),
        ("instructor", "instructor:session-list"),
        ("staff", "instructor:session-list"),
    ],
)
def test_after_login_each_role_lands_on_its_own_page(client, role, landing):
    user = {"student": StudentFactory, "instructor": InstructorFactory, "staff": StaffFactory}[
        role
    ]()
    response = client.post(
        reverse("login"), {"username": user.username, "password": "correct-horse-battery"}
    )
    assert response["Location"] == reverse("home")
    final = client.get(reverse("home"), follow=True)
    assert final.redirect_chain[-1][0] == reverse(landing)
    assert final.status_code == 200
    html = final.content.decode()
    assert ('href="/admin/"' in html) is (role == "staff")


def test_a_students_navigation_shows_no_instructor_link(client, student):
    html = login(client, student).get(reverse("student:schedule")).content.decode()
    for url in ("student:schedule", "student:bookings", "student:credits", "student:projects"):
        assert f'href="{reverse(url)}"' in html
    assert reverse("instructor:session-list") not in html
    assert reverse("instructor:session-create") not in html


def test_a_non_master_instructor_is_offered_no_new_session(client, semester):
    teacher = InstructorFactory()
    SessionFactory(semester=semester, instructor=teacher)
    html = login(client, teacher).get(reverse("instructor:session-list")).content.decode()
    assert reverse("instructor:session-create") not in html
    master_html = (
        login(client, semester.master_instructor)
        .get(reverse("instructor:session-list"))
        .content.decode()
    )
    assert reverse("instructor:session-create") in master_html


def test_a_student_refused_an_instructor_page_is_pointed_at_their_schedule(client, student):
    response = login(client, student).get(reverse("instructor:session-list"))
    assert response.status_code == 403
    html = response.content.decode()
    assert reverse("student:schedule") in html
    assert 'href="/sessions/"' not in html


def test_a_404_page_links_where_the_student_can_go(client, student):
    response = login(client, student).get("/student/sessions/999999/")
    assert response.status_code == 404
    assert reverse("student:schedule") in response.content.decode()


# --- Schedule ------------------------------------------------------------------------------


def test_the_schedule_groups_bookable_sessions_by_day_with_their_facts(client, student, semester):
    instructor = semester.master_instructor
    start = (timezone.now() + timedelta(days=2)).replace(hour=9, minute=0, second=0, microsecond=0)
    on_site = SessionFactory(
        semester=semester, title="Footwork", date_start=start, date_end=start + timedelta(hours=1)
    )
    online = SessionFactory(
        semester=semester,
        title="Video review",
        session_type=Session.SessionType.VIRTUAL,
        date_start=start + timedelta(hours=3),
        date_end=start + timedelta(hours=4),
        capacity=1,
    )
    BookingFactory(session=online)
    BookingFactory(session=online, status=Booking.Status.WAITLISTED)
    SessionFactory(semester=semester, title="Cancelled one", status=Session.Status.CANCELLED)
    PastSessionFactory(semester=semester, title="Already over")

    response = login(client, student).get(reverse("student:schedule"))

    assert response.status_code == 200
    titles = [s.title for s in response.context["sessions"]]
    assert titles == ["Footwork", "Video review"]
    assert [len(day_sessions) for _, day_sessions in response.context["days"]] == [2]
    html = response.content.decode()
    assert instructor.display_name in html
    assert "Court 3, North campus" in html and "Online" in html
    assert "20 left" in html and "Full: waitlist 1" in html
    assert "UTC" in html  # the zone is named
    assert on_site.pk and "data-session" in html


def test_the_schedule_filters_through_the_apis_filterset(client, student, semester):
    spec = SpecializationFactory(code="GK", name="Goalkeeping")
    student.specialization = spec
    student.save()
    in_three = timezone.localdate() + timedelta(days=3)
    # Morning hours of that day, whatever the clock says now: the factory's default (now
    # + 3 days, queued per instructor) would spill past midnight late in the evening.
    morning = datetime.combine(in_three, time(8), tzinfo=timezone.get_current_timezone())

    def on_day_three(hour: int) -> dict:
        start = morning + timedelta(hours=hour)
        return {"date_start": start, "date_end": start + timedelta(hours=1)}

    keep = SessionFactory(
        semester=semester,
        title="Keeper drills",
        target_specialization=spec,
        capacity=2,
        **on_day_three(0),
    )
    full = SessionFactory(semester=semester, title="Full house", capacity=1, **on_day_three(2))
    BookingFactory(session=full)
    SessionFactory(semester=semester, title="Far away", date_start=timezone.now() + timedelta(20))
    virtual = SessionFactory(
        semester=semester,
        title="Online theory",
        session_type=Session.SessionType.VIRTUAL,
        **on_day_three(4),
    )
    login(client, student)

    def titles(**query):
        response = client.get(reverse("student:schedule"), query)
        assert response.status_code == 200, response.context["filter_errors"]
        return {s.title for s in response.context["sessions"]}

    assert titles(search="keeper") == {keep.title}
    assert titles(target_specialization="GK") == {keep.title}
    assert titles(session_type="virtual") == {virtual.title}
    assert full.title not in titles(has_spots="true")
    assert titles(date_from=in_three.isoformat(), date_to=in_three.isoformat()) == {
        keep.title,
        full.title,
        virtual.title,
    }
    assert titles(semester=str(semester.pk + 1000)) == set()


def test_a_bad_filter_value_is_a_400_naming_the_field(client, student, session):
    response = login(client, student).get(reverse("student:schedule"), {"semester": "abc"})
    assert response.status_code == 400
    assert "semester" in response.context["filter_errors"]
    assert list(response.context["sessions"]) == []
    assert "Semester" in response.content.decode()


@pytest.mark.parametrize("session_count", [1, 10, 50])
def test_the_schedule_costs_the_same_queries_at_every_size(
    client, student, semester, session_count, django_assert_num_queries
):
    for session in SessionFactory.create_batch(session_count, semester=semester):
        BookingFactory(session=session)
        BookingFactory(session=session, status=Booking.Status.WAITLISTED)
    login(client, student)

    # 1 django session + 1 user, 1 count (no statistics), 1 page (rows, statistics,
    # instructor names and the student's own booking, for the page's ids only),
    # 1 semesters and 1 specializations for the filters.
    with django_assert_num_queries(6):
        response = client.get(reverse("student:schedule"))

    assert len(response.context["sessions"]) == min(session_count, 20)


# --- Session page and booking --------------------------------------------------------------


def offer_of(client, session) -> str:
    return client.get(reverse("student:session", args=[session.pk])).context["offer"].label


def test_the_button_says_what_booking_will_do(client, student, semester):
    login(client, student)  # 7 credits
    open_seat = SessionFactory(semester=semester, credit_cost=2)
    assert offer_of(client, open_seat) == "Book for 2 credits (balance after: 5)"

    full = SessionFactory(semester=semester, credit_cost=2, capacity=1)
    BookingFactory(session=full)
    BookingFactory.create_batch(3, session=full, status=Booking.Status.WAITLISTED)
    assert offer_of(client, full) == (
        "Join the waitlist (you would be 4th; 2 credits charged only if a seat frees)"
    )

    dear = SessionFactory(semester=semester, credit_cost=9)
    assert offer_of(client, dear) == "Not enough credits (you have 7)"


def test_a_booked_session_of_another_specialization_says_so(client, student, semester):
    session = SessionFactory(semester=semester, target_specialization=SpecializationFactory())
    BookingFactory(session=session, student=student, status=Booking.Status.CANCELLED)
    assert offer_of(login(client, student), session) == "Not open to your specialization"


def test_the_cancellation_policy_is_said_in_words(client, student, semester):
    start = (timezone.now() + timedelta(days=3)).replace(minute=0, second=0, microsecond=0)
    session = SessionFactory(semester=semester, date_start=start)
    response = login(client, student).get(reverse("student:session", args=[session.pk]))
    deadline = start - timedelta(hours=24)
    expected = f"Free cancellation until {deadline:%a} {deadline.day} {deadline:%b %H:%M} UTC"
    assert expected in response.context["policy"]
    assert "after that no refund" in response.context["policy"]


def test_the_meeting_link_shows_only_once_confirmed(client, student, semester):
    virtual = SessionFactory(semester=semester, session_type=Session.SessionType.VIRTUAL)
    login(client, student)
    url = reverse("student:session", args=[virtual.pk])
    assert "meet.example.test" not in client.get(url).content.decode()
    BookingFactory(session=virtual, student=student, status=Booking.Status.WAITLISTED)
    assert "meet.example.test" not in client.get(url).content.decode()
    Booking.objects.filter(student=student).update(status=Booking.Status.CONFIRMED)
    assert "meet.example.test" in client.get(url).content.decode()


def test_booking_asks_first_then_books_and_says_so(client, student, session):
    login(client, student)
    confirm = client.get(reverse("student:book", args=[session.pk]))
    assert confirm.status_code == 200
    assert b'method="post"' in confirm.content
    assert not Booking.objects.exists()  # asking books nothing

    response = client.post(reverse("student:book", args=[session.pk]))

    assert response["Location"] == reverse("student:bookings")
    booking = Booking.objects.get(student=student, session=session)
    assert booking.status == Booking.Status.CONFIRMED
    student.refresh_from_db()
    assert student.credit_balance == 5
    [message] = messages_of(response)
    assert message.startswith("Booked: “Serve drills”")
    assert "2 credits charged; your balance is 5" in message


def test_a_full_session_puts_the_student_on_the_waitlist_uncharged(client, student, session):
    BookingFactory.create_batch(3, session=session)
    BookingFactory(session=session, status=Booking.Status.WAITLISTED)

    response = login(client, student).post(reverse("student:book", args=[session.pk]))

    booking = Booking.objects.get(student=student, session=session)
    assert booking.status == Booking.Status.WAITLISTED
    student.refresh_from_db()
    assert student.credit_balance == 7
    [message] = messages_of(response)
    assert message.startswith("You are 2nd on the waitlist for “Serve drills”")
    page = client.get(reverse("student:bookings"))
    assert [b.waitlist_position for b in page.context["waitlisted"]] == [2]


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        ("booked", "You already hold a booking for this session: see My bookings."),
        ("cancelled", "The session has been cancelled."),
        ("poor", "This session costs 2 credits; your balance is too low."),
    ],
)
def test_a_refused_booking_becomes_a_message(client, student, session, setup, expected):
    if setup == "booked":
        BookingFactory(session=session, student=student)
    elif setup == "cancelled":
        Session.objects.filter(pk=session.pk).update(status=Session.Status.CANCELLED)
    else:
        poor = StudentFactory()
        student = poor
    before = Booking.objects.count()
    response = login(client, student).post(reverse("student:book", args=[session.pk]))
    assert response["Location"] == reverse("student:session", args=[session.pk])
    assert messages_of(response) == [expected]
    assert Booking.objects.count() == before


# --- My bookings, cancelling, feedback ------------------------------------------------------


def test_cancelling_in_time_says_the_refund_first_then_refunds(client, student, session):
    booking = BookingFactory(session=session, student=student)
    login(client, student)
    listing = client.get(reverse("student:bookings")).content.decode()
    assert "Cancel (refund 2 credits)" in listing
    confirm = client.get(reverse("student:cancel", args=[booking.pk]))
    assert confirm.context["outcome"] == "2 credits will be refunded to your balance."

    response = client.post(reverse("student:cancel", args=[booking.pk]))

    assert messages_of(response) == ["Cancelled “Serve drills”: 2 credits refunded."]
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CANCELLED
    assert CreditTransaction.objects.filter(booking=booking, kind="refund", amount=2).exists()


def test_cancelling_late_says_there_is_no_refund_and_refunds_nothing(client, student, semester):
    soon = SessionFactory(
        semester=semester,
        title="Tomorrow early",
        credit_cost=2,
        date_start=timezone.now() + timedelta(hours=5),
        date_end=timezone.now() + timedelta(hours=6),
    )
    booking = BookingFactory(session=soon, student=student)
    login(client, student)
    assert "Cancel (no refund)" in client.get(reverse("student:bookings")).content.decode()
    confirm = client.get(reverse("student:cancel", args=[booking.pk]))
    assert confirm.context["outcome"].startswith("No refund: the free cancellation ended")

    response = client.post(reverse("student:cancel", args=[booking.pk]))

    assert messages_of(response) == ["Cancelled “Tomorrow early”: no refund."]
    assert not CreditTransaction.objects.filter(booking=booking, kind="refund").exists()


def test_leaving_the_waitlist(client, student, session):
    booking = BookingFactory(session=session, student=student, status=Booking.Status.WAITLISTED)
    login(client, student)
    assert (
        client.get(reverse("student:cancel", args=[booking.pk]))
        .context["outcome"]
        .startswith("You leave the waitlist")
    )
    response = client.post(reverse("student:cancel", args=[booking.pk]))
    assert messages_of(response) == ["You left the waitlist for “Serve drills”."]


def test_a_cancelled_booking_cannot_be_cancelled_again(client, student, session):
    booking = BookingFactory(session=session, student=student, status=Booking.Status.CANCELLED)
    assert login(client, student).post(
        reverse("student:cancel", args=[booking.pk])
    ).status_code == (404)


def test_feedback_is_given_once_by_an_attendee(client, student, semester):
    past = PastSessionFactory(semester=semester, title="Match play")
    BookingFactory(session=past, student=student)
    AttendanceFactory(session=past, student=student)
    login(client, student)
    assert "Give feedback" in client.get(reverse("student:bookings")).content.decode()
    url = reverse("student:feedback", args=[past.pk])

    response = client.post(url, {"rating": "4", "comment": "Good pace"})

    assert messages_of(response) == ["Thank you: your feedback on “Match play” is saved."]
    assert Feedback.objects.get(session=past, student=student).rating == 4
    assert "Give feedback" not in client.get(reverse("student:bookings")).content.decode()
    assert "You rated this session 4 of 5" in client.get(url).content.decode()

    again = client.post(url, {"rating": "1"})
    assert messages_of(again) == ["You have already given feedback on this session."]
    assert Feedback.objects.filter(session=past, student=student).count() == 1


def test_feedback_without_attendance_is_refused(client, student, semester):
    past = PastSessionFactory(semester=semester)
    BookingFactory(session=past, student=student)
    response = login(client, student).post(
        reverse("student:feedback", args=[past.pk]), {"rating": "5"}
    )
    assert messages_of(response) == ["Feedback opens once you are marked present at the session."]
    assert not Feedback.objects.exists()


@pytest.mark.parametrize("rating", ["0", "6", "x", ""])
def test_a_bad_rating_is_shown_on_the_form(client, student, semester, rating):
    past = PastSessionFactory(semester=semester)
    AttendanceFactory(session=past, student=student)
    response = login(client, student).post(
        reverse("student:feedback", args=[past.pk]), {"rating": rating}
    )
    assert response.status_code == 200
    assert "rating" in response.context["form"].errors
    assert not Feedback.objects.exists()


@pytest.mark.parametrize("rows", [1, 10, 50])
def test_my_bookings_cost_the_same_queries_at_every_size(
    client, student, semester, rows, django_assert_num_queries
):
    for _ in range(rows):
        BookingFactory(session=SessionFactory(semester=semester), student=student)
        BookingFactory(
            session=SessionFactory(semester=semester),
            student=student,
            status=Booking.Status.WAITLISTED,
        )
        past = PastSessionFactory(semester=semester)
        BookingFactory(session=past, student=student)
        AttendanceFactory(session=past, student=student)
    login(client, student)

    # 1 django session + 1 user, 1 coming bookings (with sessions, instructors, waitlist
    # places), 1 past bookings (with attendance and feedback as EXISTS).
    with django_assert_num_queries(4):
        response = client.get(reverse("student:bookings"))

    assert len(response.context["upcoming"]) == rows
    assert len(response.context["waitlisted"]) == rows
    assert len(response.context["past"]) == rows


# --- Attendance ----------------------------------------------------------------------------


def attendance_rows(html: str) -> dict[str, str]:
    """data-session -> data-status of every line of the attendance page."""
    import re

    return dict(re.findall(r'data-session="(\d+)" data-status="(\w*)"', html))


def test_my_attendance_is_my_row_of_the_register(client):
    from reports.tests.world import build_world

    world = build_world()
    register = attendance_register(world.semester)
    for student in (world.able, world.baker, world.carter):
        row = next(r for r in register.rows if r.student_id == student.pk)
        response = login(client, student).get(reverse("student:attendance"))
        assert response.status_code == 200
        (semester,) = response.context["semesters"]
        # The same totals, rate and flag as the register's row ...
        assert semester.record.totals.as_dict() == row.totals.as_dict(), student.username
        assert semester.record.flagged is row.flagged
        # ... and every booked or marked cell of that row, on the page.
        expected = {
            str(column.id): cell
            for column, cell in zip(register.sessions, row.cells, strict=True)
            if cell
        }
        html = response.content.decode()
        assert attendance_rows(html) == expected, student.username
        rate = row.totals.rate
        assert f'data-rate="{rate}"' in html if rate is not None else "data-rate" not in html
    # Able: present, absent, present, booked ahead: 2 of 3, flagged under 80%.
    html = login(client, world.able).get(reverse("student:attendance")).content.decode()
    assert "67%" in html
    assert "Under the academy's 80% attendance rate" in html
    assert "Booked, not started yet" in html


def test_my_attendance_shows_nobody_elses_sessions(client, student, semester):
    mine = PastSessionFactory(semester=semester, title="Mine")
    theirs = PastSessionFactory(semester=semester, title="Theirs")
    BookingFactory(session=mine, student=student)
    AttendanceFactory(session=mine, student=student, status="late")
    other = StudentFactory()
    BookingFactory(session=theirs, student=other)
    AttendanceFactory(session=theirs, student=other, status="absent")

    html = login(client, student).get(reverse("student:attendance")).content.decode()

    assert attendance_rows(html) == {str(mine.pk): "late"}
    assert "Theirs" not in html
    # No way to ask for someone else's: the page takes no student.
    html = client.get(reverse("student:attendance"), {"student": other.pk}).content.decode()
    assert attendance_rows(html) == {str(mine.pk): "late"}


def test_no_attendance_yet_says_so(client, student):
    html = login(client, student).get(reverse("student:attendance")).content.decode()
    assert "No attendance yet" in html


@pytest.mark.parametrize("rows", [1, 10, 50])
def test_my_attendance_costs_the_same_queries_at_every_size(
    client, student, semester, rows, django_assert_num_queries
):
    other_semester = SemesterFactory()
    for n in range(rows):
        past = PastSessionFactory(semester=semester if n % 2 else other_semester)
        BookingFactory(session=past, student=student)
        AttendanceFactory(session=past, student=student, status=("present", "absent")[n % 2])
    login(client, student)

    # 1 django session + 1 user, 1 the record of every semester (sessions, booked, mark).
    with django_assert_num_queries(3):
        response = client.get(reverse("student:attendance"))

    assert sum(len(s.record.entries) for s in response.context["semesters"]) == rows


# --- Credits, projects, profile ------------------------------------------------------------


def test_the_ledger_names_sessions_and_shows_the_balance_after_each_row(client, student, session):
    login(client, student).post(reverse("student:book", args=[session.pk]))
    booking = Booking.objects.get(student=student)
    client.post(reverse("student:cancel", args=[booking.pk]))

    response = client.get(reverse("student:credits"))

    entries = list(response.context["entries"])
    assert [(e.kind, e.amount, e.balance_after) for e in entries] == [
        ("refund", 2, 7),
        ("booking", -2, 5),
        ("grant", 7, 7),
    ]
    html = response.content.decode()
    assert "Booked “Serve drills”" in html and "Refund for “Serve drills”" in html
    assert f"session {session.pk}" not in html


@pytest.mark.parametrize("rows", [1, 10, 50])
def test_the_ledger_costs_the_same_queries_at_every_size(
    client, student, rows, django_assert_num_queries
):
    for _ in range(rows):
        BookingFactory(student=student)
    login(client, student)

    # 1 django session + 1 user, 1 count, 1 page (rows, their bookings' sessions and the
    # running balance).
    with django_assert_num_queries(4):
        response = client.get(reverse("student:credits"))

    assert len(response.context["entries"]) == min(1 + 2 * rows, 25)


@pytest.mark.parametrize("rows", [1, 10, 50])
def test_projects_cost_the_same_queries_at_every_size(
    client, student, semester, rows, django_assert_num_queries
):
    for _ in range(rows):
        project = ProjectFactory(semester=semester)
        ProjectSessionFactory(project=project, session=SessionFactory(semester=semester))
    ProjectFactory(semester=SemesterFactory(is_active=False), title="Not mine")
    login(client, student)

    # 1 django session + 1 user, 1 projects with their semesters, 1 their visible sessions.
    with django_assert_num_queries(4):
        response = client.get(reverse("student:projects"))

    projects = list(response.context["projects"])
    assert len(projects) == rows
    assert all(len(p.visible_sessions) == 1 for p in projects)
    assert "Not mine" not in response.content.decode()


def test_the_profile_sets_a_time_zone_that_every_page_then_uses(client, student, semester):
    start = (timezone.now() + timedelta(days=2)).replace(hour=12, minute=0, second=0, microsecond=0)
    SessionFactory(semester=semester, date_start=start, date_end=start + timedelta(hours=1))
    login(client, student)
    page = client.get(reverse("student:profile")).content.decode()
    assert 'href="/account/notifications/"' in page

    response = client.post(
        reverse("student:profile"),
        {
            "first_name": "Ada",
            "last_name": "Byron",
            "email": "ada@example.test",
            "time_zone": "Asia/Tokyo",
        },
    )

    assert messages_of(response) == ["Your profile is saved."]
    student.refresh_from_db()
    assert (student.last_name, student.time_zone) == ("Byron", "Asia/Tokyo")
    html = client.get(reverse("student:schedule")).content.decode()
    assert '>21:00</time>\u201322:00 <span class="zone">Asia/Tokyo</span>' in html


def test_an_unknown_time_zone_is_refused_naming_the_field(client, student):
    response = login(client, student).post(
        reverse("student:profile"),
        {"first_name": "A", "last_name": "B", "email": "a@example.test", "time_zone": "Mars/Base"},
    )
    assert response.status_code == 200
    assert "time_zone" in response.context["form"].errors
    student.refresh_from_db()
    assert student.time_zone == "UTC"


def test_the_api_keeps_the_default_zone_whatever_the_profile_says(
    client, student, session, session_client
):
    student.time_zone = "Asia/Tokyo"
    student.save()
    body = session_client(student).get(f"/api/v1/sessions/{session.pk}/").json()
    assert body["date_start"].endswith("Z") or body["date_start"].endswith("+00:00")


def test_a_zone_gone_from_tzdata_falls_back_to_the_default_rather_than_failing(client, student):
    User.objects.filter(pk=student.pk).update(time_zone="Nowhere/Gone")
    response = login(client, student).get(reverse("student:schedule"))
    assert response.status_code == 200
    assert "Times in UTC" in response.content.decode()


def test_each_booking_offers_its_session_as_a_calendar_file(client, student, session):
    booking = BookingFactory(session=session, student=student)
    browser = login(client, student)

    page = browser.get(reverse("student:bookings"))
    link = reverse("calendar:session-ics", args=[session.pk])
    download = browser.get(link)

    assert f'href="{link}"' in page.content.decode()
    assert download.status_code == 200
    assert download["Content-Type"].startswith("text/calendar")
    assert f"SUMMARY:{booking.session.title}" in download.content.decode()


def test_another_students_session_is_no_calendar_file_of_mine(client, student, semester):
    hidden = SessionFactory(semester=SemesterFactory(is_active=False))

    response = login(client, student).get(reverse("calendar:session-ics", args=[hidden.pk]))

    assert response.status_code == 404
