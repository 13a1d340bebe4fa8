"""The series page: its occurrences, and the edit and cancel forms with a confirmation
step computed by the same dry run as the API's, through Django's test client."""

from datetime import time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import InstructorFactory, StaffFactory, StudentFactory
from activity.models import Activity
from bookings.integrity import check_integrity
from bookings.models import Booking
from bookings.services import book_session, grant_credits
from instructor.tests.test_pages import login, messages_of
from scheduling.models import Session, SessionSeries
from scheduling.tests import series_world
from scheduling.tests.factories import SemesterFactory, SessionFactory
from scheduling.tests.series_world import occurrences_of

pytestmark = pytest.mark.django_db


def weekly(semester, count=6):
    return series_world.weekly(semester, semester.master_instructor, count=count)


def booked(session, credits=10):
    student = StudentFactory()
    grant_credits(student=student, amount=credits, note="Test", by=StaffFactory())
    return book_session(student=student, session=session, by=student)


def url(name, series):
    return reverse(f"instructor:series-{name}", args=[series.pk])


@pytest.fixture
def series():
    return weekly(SemesterFactory(location="Court 3"))


def test_a_session_of_a_series_links_to_the_series_page(client, series):
    first = occurrences_of(series)[0]
    client = login(client, series.semester.master_instructor)

    detail = client.get(reverse("instructor:session-detail", args=[first.pk])).content.decode()
    page = client.get(url("detail", series))

    assert f'href="{url("detail", series)}"' in detail and "Series: 6 sessions" in detail
    assert page.status_code == 200
    html = page.content.decode()
    assert html.count('data-session="') == 6
    assert 'id="series-edit-form"' in html and 'id="series-cancel-form"' in html


def test_the_dates_are_shown_in_the_viewers_zone(client, series):
    first = occurrences_of(series)[0]
    instructor = series.semester.master_instructor
    instructor.time_zone = "Asia/Tokyo"
    instructor.save()
    client = login(client, instructor)

    html = client.get(url("detail", series)).content.decode()

    tokyo = timezone.localtime(first.date_start, ZoneInfo("Asia/Tokyo"))
    academy = timezone.localtime(first.date_start)
    assert tokyo.hour != academy.hour
    dash = "\N{EN DASH}"
    assert f"{tokyo:%H:%M}{dash}" in html and f">{academy:%H:%M}{dash}" not in html


def test_strangers_get_404_teachers_read_only_and_others_cannot_post(client, series):
    stranger = InstructorFactory()
    teacher = InstructorFactory()
    SessionFactory(semester=series.semester, instructor=teacher, series=series)
    master = series.semester.master_instructor

    assert login(client, stranger).get(url("detail", series)).status_code == 404
    assert client.post(url("cancel", series), {"cancel-scope": "all"}).status_code == 404
    seen = login(client, teacher).get(url("detail", series))
    assert seen.status_code == 200 and 'id="series-cancel-form"' not in seen.content.decode()
    assert client.post(url("cancel", series), {"cancel-scope": "all"}).status_code == 403
    assert login(client, StudentFactory()).get(url("detail", series)).status_code == 403
    client.logout()
    assert client.get(url("detail", series)).status_code == 302
    assert login(client, master).get(url("detail", series)).status_code == 200
    assert not Session.objects.filter(status="cancelled").exists()


def test_cancel_following_asks_first_saying_who_is_refunded_then_cancels(client, series):
    occurrences = occurrences_of(series)
    booked(occurrences[3])
    booked(occurrences[4])
    client = login(client, series.semester.master_instructor)
    data = {"cancel-scope": "following", "cancel-occurrence": occurrences[3].pk}

    confirm = client.post(url("cancel", series), data)

    html = confirm.content.decode()
    assert confirm.status_code == 200
    assert "3 sessions will be cancelled." in html
    assert "2 students booked on them will be told." in html
    assert "2 students will be refunded, 4 credits in all." in html
    assert not Session.objects.filter(status="cancelled").exists()
    assert 'name="cancel-confirm" value="on"' in html

    done = client.post(url("cancel", series), {**data, "cancel-confirm": "on"})

    assert done.status_code == 302
    statuses = [s.status for s in series.occurrences.order_by("date_start")]
    assert statuses == ["scheduled"] * 3 + ["cancelled"] * 3
    assert "3 sessions cancelled, 4 credits refunded" in " ".join(messages_of(done))
    assert Activity.objects.filter(verb="series.cancelled").count() == 1
    assert check_integrity() == []


def test_a_new_rule_for_the_following_is_confirmed_then_applied(client, series):
    occurrences = occurrences_of(series)
    booking = booked(occurrences[3])
    client = login(client, series.semester.master_instructor)
    data = {
        "edit-scope": "following",
        "edit-occurrence": occurrences[2].pk,
        "edit-title": "Footwork",
        "edit-start_time": "19:30",
        "edit-duration_minutes": "60",
        "edit-location": "Court 3",
        "edit-capacity": "5",
        "edit-weekdays": ["5"],
        "edit-count": "3",
        "edit-skipped_dates": "",
    }

    confirm = client.post(url("edit", series), data)

    html = confirm.content.decode()
    assert confirm.status_code == 200
    assert "3 sessions will move to a new date or time." in html
    assert "1 session will be cancelled." in html
    assert "1 student booked on them will be told." in html
    assert SessionSeries.objects.count() == 1

    done = client.post(url("edit", series), {**data, "edit-confirm": "on"})

    later = SessionSeries.objects.get(split_from=series)
    assert done.status_code == 302 and done.url == url("detail", later)
    booking.refresh_from_db()
    moved = Session.objects.get(pk=occurrences[3].pk)
    assert booking.status == "confirmed" and booking.session_id == moved.pk
    assert timezone.localtime(moved.date_start).isoweekday() == 5
    assert timezone.localtime(moved.date_start).time() == time(19, 30)
    assert Session.objects.get(pk=occurrences[5].pk).status == "cancelled"
    assert check_integrity() == []


def test_a_refused_change_names_the_dates_and_changes_nothing(client, series):
    occurrences = occurrences_of(series)
    semester = series.semester
    client = login(client, semester.master_instructor)
    until = semester.end_date + timedelta(days=21)
    data = {
        "edit-scope": "following",
        "edit-occurrence": occurrences[1].pk,
        "edit-title": "Footwork",
        "edit-start_time": "18:00",
        "edit-duration_minutes": "60",
        "edit-location": "Court 3",
        "edit-capacity": "5",
        "edit-weekdays": ["1", "3"],
        "edit-until_date": until.isoformat(),
    }
    before = list(Session.objects.order_by("pk").values_list("pk", "date_start", "status"))

    refused = client.post(url("edit", series), data)
    no_occurrence = client.post(url("cancel", series), {"cancel-scope": "this"})

    html = refused.content.decode()
    assert refused.status_code == 400
    assert 'id="error-summary"' in html and 'id="series-problems"' in html
    assert "within semester" in html
    assert list(Session.objects.order_by("pk").values_list("pk", "date_start", "status")) == (
        before
    )
    assert no_occurrence.status_code == 400
    assert "Choose the session the change starts from." in no_occurrence.content.decode()
    assert 'href="#id_cancel-occurrence"' in no_occurrence.content.decode()


def test_a_conflict_is_refused_on_the_page_naming_the_date(client, series):
    occurrences = occurrences_of(series)
    target = occurrences[4]
    SessionFactory(
        semester=series.semester,
        instructor=series.instructor,
        date_start=target.date_start + timedelta(hours=2),
        date_end=target.date_start + timedelta(hours=3),
        location="Elsewhere",
    )
    client = login(client, series.semester.master_instructor)

    refused = client.post(
        url("edit", series),
        {
            "edit-scope": "all",
            "edit-title": "Footwork",
            "edit-start_time": "20:00",
            "edit-duration_minutes": "60",
            "edit-location": "Court 3",
            "edit-capacity": "5",
            "edit-weekdays": ["1", "3"],
        },
    )

    html = refused.content.decode()
    assert refused.status_code == 409
    assert f"<strong>{timezone.localdate(target.date_start):%a %-d %b %Y}</strong>" in html
    assert "The instructor teaches another session at that time" in html
    assert {timezone.localtime(s.date_start).time() for s in occurrences_of(series)} == {
        time(18, 0)
    }
    assert Booking.objects.count() == 0


def going_online(**fields) -> dict:
    """The edit form as shown, with every remaining session moved online at a new price."""
    return {
        "edit-scope": "all",
        "edit-title": "Footwork",
        "edit-description": "Bring a mat and a laptop.",
        "edit-start_time": "18:00",
        "edit-duration_minutes": "60",
        "edit-session_type": "virtual",
        "edit-location": "",
        "edit-meeting_link": "https://meet.example.com/footwork",
        "edit-capacity": "5",
        "edit-credit_cost": "3",
        "edit-weekdays": ["1", "3"],
        **fields,
    }


def test_the_page_moves_every_remaining_session_online_at_a_new_price(client, series):
    """The page's scoped edit takes what the API's does: the type, the link, the
    description and the credit cost too. The booked student is told; their booking keeps
    what it was charged."""
    occurrences = occurrences_of(series)
    booking = booked(occurrences[2])
    client = login(client, series.semester.master_instructor)

    confirm = client.post(url("edit", series), going_online())
    assert "1 student booked on them will be told." in confirm.content.decode()
    done = client.post(url("edit", series), {**going_online(), "edit-confirm": "on"})

    assert done.status_code == 302
    assert set(
        series.occurrences.values_list(
            "session_type", "location", "meeting_link", "credit_cost", "description"
        )
    ) == {("virtual", "", "https://meet.example.com/footwork", 3, "Bring a mat and a laptop.")}
    series.refresh_from_db()
    assert (series.session_type, series.meeting_link, series.credit_cost) == (
        "virtual",
        "https://meet.example.com/footwork",
        3,
    )
    booking.refresh_from_db()
    assert (booking.status, booking.credits_charged) == ("confirmed", 2)
    assert check_integrity() == []


@pytest.mark.parametrize(
    "fields, field, says",
    [
        ({"edit-meeting_link": "not a link"}, "meeting_link", "Enter a valid URL."),
        ({"edit-credit_cost": "-1"}, "credit_cost", "greater than or equal to 0"),
        (
            {"edit-session_type": "online"},
            "session_type",
            "Select a valid choice. online is not one of the available choices.",
        ),
    ],
)
def test_a_bad_value_for_the_new_fields_is_named_and_changes_nothing(
    client, series, fields, field, says
):
    client = login(client, series.semester.master_instructor)
    before = list(series.occurrences.values_list("session_type", "meeting_link", "credit_cost"))

    refused = client.post(url("edit", series), going_online(**fields))

    html = refused.content.decode()
    assert refused.status_code == 400
    assert f'href="#id_edit-{field}"' in html and says in html
    assert list(series.occurrences.values_list("session_type", "meeting_link", "credit_cost")) == (
        before
    )


@pytest.mark.parametrize("count", [2, 12])
def test_the_series_page_costs_the_same_queries_at_every_size(
    client, count, django_assert_num_queries
):
    semester = SemesterFactory()
    series = weekly(semester, count=count)
    for session in series.occurrences.all()[:2]:
        booked(session)
    client = login(client, semester.master_instructor)

    # 1 django session + 1 user, 1 series with its semester, 1 occurrences with their
    # statistics, 1 navigation (may the user create sessions).
    with django_assert_num_queries(5):
        response = client.get(url("detail", series))

    assert response.content.decode().count('data-session="') == count
