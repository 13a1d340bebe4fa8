"""The semester dashboard: hand-computed figures, who sees it, the charts' markup,
and a constant number of queries."""

import re
from datetime import date, datetime, time, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import InstructorFactory, StudentFactory
from bookings.models import Booking, CreditTransaction
from bookings.tests.factories import BookingFactory
from engagement.models import Attendance
from engagement.tests.factories import AttendanceFactory, FeedbackFactory
from reports.selectors import semester_dashboard
from scheduling.tests.factories import SessionFactory

from .test_register import grow
from .world import build_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    return build_world()


def test_the_figures_match_the_hand_computed_semester(world):
    dashboard = semester_dashboard(world.semester)
    # s4 (cancelled) is left out: s1, s3, s5 on site (3 x 20), s2 hybrid (capacity 2).
    by_type = {
        row.label: (row.sessions, row.capacity, row.confirmed) for row in dashboard.fill_by_type
    }
    assert by_type == {"On site": (3, 60, 6), "Hybrid": (1, 2, 2)}
    assert [row.rate for row in dashboard.fill_by_type] == [1.0, 0.1]
    assert sum(row.capacity for row in dashboard.fill_by_week) == 62
    assert sum(row.confirmed for row in dashboard.fill_by_week) == 8
    # Carter waits on s2, Baker on s5; each waits since their booking was made.
    assert [(row["title"], row["waiting"]) for row in dashboard.waitlists] == [("s2", 1), ("s5", 1)]
    waiting_since = {
        booking.session.title: booking.created_at
        for booking in Booking.objects.filter(status=Booking.Status.WAITLISTED)
    }
    assert {row["title"]: row["since"] for row in dashboard.waitlists} == waiting_since
    # Seven confirmed seats of held sessions; Carter on s1, Able absent and Baker excused on s2.
    assert dashboard.no_show == {"seats": 7, "no_shows": 3, "rate": 0.4286}
    assert [(row["title"], row["average"], row["count"]) for row in dashboard.lowest_rated] == [
        ("s1", 3.0, 2),
        ("s3", 4.0, 2),
    ]
    assert [row["title"] for row in dashboard.highest_rated] == ["s3", "s1"]
    assert [
        (row["username"], row["average"], row["count"], row["sessions"])
        for row in dashboard.ratings_by_instructor
    ] == [("coach", 4.0, 2, 1), (world.master.username, 3.0, 2, 1)]
    # Nine charges (eight confirmed seats and s4's), one refund, nine grants (the factory
    # grants each charge), all this week.
    assert [
        (row["charged"], row["refunded"], row["granted"], row["adjusted"])
        for row in dashboard.credits_by_week
    ] == [(9, 1, 9, 0)]
    assert [(row["hour"], row["sessions"], row["seats"]) for row in dashboard.busiest_hours] == [
        (9, 2, 5),
        (18, 2, 3),
    ]


def test_ties_keep_the_documented_order(world):
    # Aaron's session ties with s3 (4.0 from two ratings) and Aaron ties with the coach.
    aaron = InstructorFactory(username="aaron")
    s1 = world.sessions[0]
    tied = SessionFactory(
        title="tied", semester=world.semester, instructor=aaron, date_start=s1.date_start
    )
    for rating in (3, 5):
        FeedbackFactory(session=tied, student=StudentFactory(), rating=rating)
    dashboard = semester_dashboard(world.semester)
    # Sessions: by average, then more ratings first, then the older id.
    assert [(row["title"], row["average"]) for row in dashboard.highest_rated] == [
        ("s3", 4.0),
        ("tied", 4.0),
        ("s1", 3.0),
    ]
    assert [row["title"] for row in dashboard.lowest_rated] == ["s1", "s3", "tied"]
    # Instructors: by average, then by username.
    assert [(row["username"], row["average"]) for row in dashboard.ratings_by_instructor] == [
        ("aaron", 4.0),
        ("coach", 4.0),
        (world.master.username, 3.0),
    ]


def test_a_mark_without_a_confirmed_booking_is_no_attended_seat(world):
    # A walk-in marked present on s1, and Carter marked present on s2 while waitlisted:
    # neither is a confirmed seat, so the seats and the no-shows stay as they were.
    s1, s2, *_ = world.sessions
    AttendanceFactory(session=s1, student=StudentFactory(), status=Attendance.Status.PRESENT)
    AttendanceFactory(session=s2, student=world.carter, status=Attendance.Status.PRESENT)
    assert semester_dashboard(world.semester).no_show == {
        "seats": 7,
        "no_shows": 3,
        "rate": 0.4286,
    }
    # Carter's confirmed seat on s1, marked late at last, is attended: one no-show fewer.
    AttendanceFactory(session=s1, student=world.carter, status=Attendance.Status.LATE)
    assert semester_dashboard(world.semester).no_show["no_shows"] == 2
    # A confirmed seat on a session still ahead is no seat of a started session.
    BookingFactory(session=world.sessions[4], student=world.carter)
    assert semester_dashboard(world.semester).no_show["seats"] == 7


@pytest.mark.parametrize(
    ("who", "status"),
    [("staff", 200), ("master", 200), ("coach", 404), ("outsider", 404), ("able", 404)],
)
def test_who_sees_the_dashboard(world, client, who, status):
    client.force_login(getattr(world, who))
    response = client.get(reverse("reports:dashboard", args=[world.semester.pk]))
    assert response.status_code == status


def test_charts_are_svg_with_a_title_a_description_and_a_table(world, client):
    client.force_login(world.master)
    html = client.get(reverse("reports:dashboard", args=[world.semester.pk])).content.decode()
    charts = re.findall(r"<svg[^>]*>.*?</svg>", html, flags=re.S)
    assert len(charts) == 4
    for chart in charts:
        assert 'viewBox="0 0 640 260"' in chart
        assert "<title id=" in chart and "<desc id=" in chart
        assert "style=" not in chart  # the Content-Security-Policy forbids inline styles
    assert "style=" not in html
    # The busiest-hours table carries the chart's figures for screen readers.
    assert re.search(
        r"<th scope=\"row\">09:00</th><td class=\"num\">2</td><td class=\"num\">5</td>", html
    )


@pytest.mark.parametrize(("students", "sessions"), [(0, 0), (6, 4)])
def test_the_dashboard_costs_the_same_queries_at_any_size(
    world, client, django_assert_num_queries, students, sessions
):
    grow(world, students, sessions)
    client.force_login(world.master)
    # session + user (2), semester (1), the held sessions (1), their seats and waitlists
    # (1), their ratings (1), the attended seats (1), the instructors (1), credits (1),
    # the navigation's "New session" check (1)
    with django_assert_num_queries(10):
        response = client.get(reverse("reports:dashboard", args=[world.semester.pk]))
    assert response.status_code == 200


def test_the_credits_are_the_semesters_charges_and_the_grants_while_it_runs(world):
    """Charges and refunds of the semester's bookings whenever made; grants (no booking)
    made from its first day to its last, in local time; nothing of another semester."""
    semester = world.semester

    def week_of(day: date) -> date:
        return day - timedelta(days=day.weekday())

    this_week = week_of(timezone.localdate())

    def local(day: date, hour: int = 0, minute: int = 0) -> datetime:
        return timezone.make_aware(datetime.combine(day, time(hour, minute)))

    def ledger_row(kind: str, amount: int, when: datetime, **fields) -> None:
        entry = CreditTransaction.objects.create(
            user=world.able, kind=kind, amount=amount, **fields
        )
        CreditTransaction.objects.filter(pk=entry.pk).update(created_at=when)

    # Another semester's booking: its charge is left out, its factory grant (made now,
    # without a booking) is counted.
    BookingFactory(student=world.able, session=SessionFactory(credit_cost=2))
    # Grants on the first and the last day count; the day before and after do not.
    ledger_row("grant", 4, local(semester.start_date))
    ledger_row("grant", 8, local(semester.end_date, 23, 59))
    ledger_row("grant", 16, local(semester.start_date - timedelta(days=1), 23, 59))
    ledger_row("grant", 32, local(semester.end_date + timedelta(days=1)))
    # An adjustment of one of the semester's bookings counts, one of none does not.
    s1_booking = Booking.objects.filter(session=world.sessions[0]).first()
    ledger_row("adjustment", -64, local(this_week - timedelta(days=7), 12), booking=s1_booking)
    ledger_row("adjustment", 128, local(this_week, 12))
    # A charge of the semester's made long before it started still counts, in its week.
    s5 = world.sessions[4]
    early = local(semester.start_date - timedelta(days=30), 12)
    early_booking = BookingFactory(student=StudentFactory(), session=s5, credits_charged=1)
    CreditTransaction.objects.filter(booking=early_booking, kind="booking").update(created_at=early)

    credits = semester_dashboard(semester).credits_by_week
    assert [
        (row["week"], row["charged"], row["refunded"], row["granted"], row["adjusted"])
        for row in credits
    ] == sorted(
        [
            (week_of(early.date()), 1, 0, 0, 0),
            (week_of(semester.start_date), 0, 0, 4, 0),
            (this_week - timedelta(days=7), 0, 0, 0, -64),
            # The hand-computed semester's nine charges, refund and grants, the other
            # semester's grant of 2 and the grant of the early charge's booking.
            (this_week, 9, 1, 9 + 2 + 1, 0),
            (week_of(semester.end_date), 0, 0, 8, 0),
        ]
    )
