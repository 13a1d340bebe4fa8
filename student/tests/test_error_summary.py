"""The shared error summary on the student forms: every error at the top, each linking
to its field (a choice of radios to its first option)."""

import re

import pytest
from django.urls import reverse

from accounts.tests.factories import StudentFactory
from bookings.tests.factories import BookingFactory
from engagement.tests.factories import AttendanceFactory
from scheduling.tests.factories import PastSessionFactory

pytestmark = pytest.mark.django_db


def summary_of(html: str) -> str:
    match = re.search(r'<div class="form-errors error-summary".*?</div>', html, re.S)
    assert match, "no error summary on the page"
    return match.group(0)


def test_the_profile_reports_both_bad_fields_with_links(client):
    client.force_login(StudentFactory())

    response = client.post(
        reverse("student:profile"),
        {"first_name": "Ada", "last_name": "", "email": "", "time_zone": "Mars/Olympus"},
    )

    summary = summary_of(response.content.decode())
    assert '<a href="#id_email">Email address: This field is required.</a>' in summary
    assert '<a href="#id_time_zone">Time zone: ' in summary
    assert len(re.findall(r"<li>", summary)) == 2


def test_a_radio_choice_links_to_its_first_option(client):
    student = StudentFactory()
    past = PastSessionFactory()
    BookingFactory(session=past, student=student)
    AttendanceFactory(session=past, student=student)
    client.force_login(student)

    response = client.post(reverse("student:feedback", args=[past.pk]), {"comment": "x" * 2001})

    summary = summary_of(response.content.decode())
    assert '<a href="#id_rating_0">Your rating: This field is required.</a>' in summary
    assert '<a href="#id_comment">Comment: Ensure this value' in summary
    assert 'id="id_rating_0"' in response.content.decode()


def test_a_bad_schedule_filter_links_to_its_input(client):
    client.force_login(StudentFactory())

    response = client.get(reverse("student:schedule"), {"date_from": "someday"})

    assert response.status_code == 400
    html = response.content.decode()
    assert '<a href="#f-date_from">From: Enter a valid date/time.</a>' in summary_of(html)
    assert 'id="f-date_from"' in html
