"""The shared error summary (templates/includes/error_summary.html) on the instructor and
sign-in forms: every error in one round, each linking to its field, focus moved to it."""

import re

import pytest
from django.urls import reverse

from scheduling.models import Session
from scheduling.tests.factories import SemesterFactory

pytestmark = pytest.mark.django_db


def summary_of(html: str) -> str:
    match = re.search(r'<div class="form-errors error-summary".*?</div>', html, re.S)
    assert match, "no error summary on the page"
    return match.group(0)


def test_two_bad_fields_are_both_reported_with_links_in_one_round(client):
    semester = SemesterFactory()
    client.force_login(semester.master_instructor)

    response = client.post(
        reverse("instructor:session-create"),
        {
            "semester": semester.pk,
            "title": "",
            "session_type": "on_site",
            "date_start": "2031-01-01T10:00",
            "date_end": "2031-01-01T11:00",
            "capacity": "plenty",
            "credit_cost": "1",
        },
    )

    assert response.status_code == 200
    assert not Session.objects.exists()
    summary = summary_of(response.content.decode())
    # Focus lands on the summary: focusable by script only, and autofocused.
    assert 'tabindex="-1" autofocus' in summary
    assert '<a href="#id_title">Title: This field is required.</a>' in summary
    assert '<a href="#id_capacity">Capacity: Enter a whole number.</a>' in summary
    assert len(re.findall(r"<li>", summary)) == 2


def test_a_form_without_errors_shows_no_summary(client):
    semester = SemesterFactory()
    client.force_login(semester.master_instructor)

    html = client.get(reverse("instructor:session-create")).content.decode()

    assert "error-summary" not in html


def test_a_non_field_error_is_listed_without_a_link(client):
    response = client.post(reverse("login"), {"username": "nobody", "password": "wrong"})

    summary = summary_of(response.content.decode())
    assert "Please enter a correct username and password." in summary
    assert "<a " not in summary
