"""Each person chooses the optional emails: a page and PATCH /api/v1/me/."""

import pytest

from accounts.tests.factories import InstructorFactory, StudentFactory

pytestmark = pytest.mark.django_db

ME_URL = "/api/v1/me/"
PAGE_URL = "/account/notifications/"


def test_patch_me_turns_switches_off_and_reports_them(token_client):
    student = StudentFactory()

    response = token_client(student).patch(
        ME_URL, {"notify_reminders": False, "notify_credit_grants": False}, format="json"
    )

    assert response.status_code == 200
    body = response.json()
    assert (body["notify_reminders"], body["notify_waitlist_changes"]) == (False, True)
    assert body["notify_credit_grants"] is False
    student.refresh_from_db()
    assert (student.notify_reminders, student.notify_credit_grants) == (False, False)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"notify_reminders": "no"}, "notify_reminders"),
        ({"notify_reminders": 0}, "notify_reminders"),
        ({"notify_reminders": None}, "notify_reminders"),
        ({"credit_balance": 50}, "credit_balance"),
        ({"email": "x@example.test"}, "email"),
    ],
)
def test_patch_me_names_the_bad_field(token_client, body, field):
    student = StudentFactory()

    response = token_client(student).patch(ME_URL, body, format="json")

    assert response.status_code == 400
    assert field in response.json()
    student.refresh_from_db()
    assert student.notify_reminders and student.credit_balance == 0


def test_patch_me_needs_a_login(api_client):
    assert api_client.patch(ME_URL, {"notify_reminders": False}, format="json").status_code == 401


@pytest.mark.parametrize("make_user", [StudentFactory, InstructorFactory])
def test_the_page_saves_the_switches(client, make_user):
    user = make_user()
    client.force_login(user)

    page = client.get(PAGE_URL)
    saved = client.post(PAGE_URL, {"notify_waitlist_changes": "on"}, follow=True)

    assert page.status_code == 200
    assert "Reminders before my sessions" in page.content.decode()
    assert saved.status_code == 200
    assert "Your email settings are saved." in saved.content.decode()
    user.refresh_from_db()
    assert (user.notify_reminders, user.notify_waitlist_changes, user.notify_credit_grants) == (
        False,
        True,
        False,
    )


def test_the_page_asks_for_a_login(client):
    response = client.get(PAGE_URL)

    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_the_page_warns_an_account_without_email(client):
    client.force_login(StudentFactory(email=""))

    assert "no email reaches you" in client.get(PAGE_URL).content.decode()
