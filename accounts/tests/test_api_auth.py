import pytest
from rest_framework.authtoken.models import Token

from accounts.tests.factories import (
    DEFAULT_PASSWORD,
    InstructorFactory,
    StaffFactory,
    StudentFactory,
)
from scheduling.tests.factories import SpecializationFactory

pytestmark = pytest.mark.django_db

TOKEN_URL = "/api/v1/auth/token/"
ME_URL = "/api/v1/me/"


def test_token_for_good_credentials_authenticates_later_requests(api_client):
    user = StudentFactory()

    response = api_client.post(TOKEN_URL, {"username": user.username, "password": DEFAULT_PASSWORD})

    assert response.status_code == 200
    assert response.json() == {"token": Token.objects.get(user=user).key}
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")
    assert api_client.get(ME_URL).json()["id"] == user.pk


def test_asking_twice_returns_the_same_token(api_client):
    user = StudentFactory()
    body = {"username": user.username, "password": DEFAULT_PASSWORD}
    assert api_client.post(TOKEN_URL, body).json() == api_client.post(TOKEN_URL, body).json()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"username": "nobody", "password": DEFAULT_PASSWORD}, "non_field_errors"),
        ({"username": "{username}", "password": "wrong"}, "non_field_errors"),
        ({"username": "{username}"}, "password"),
        ({"password": DEFAULT_PASSWORD}, "username"),
    ],
)
def test_bad_credentials_are_400_without_a_token(api_client, body, field):
    user = StudentFactory()
    body = {key: value.format(username=user.username) for key, value in body.items()}

    response = api_client.post(TOKEN_URL, body)

    assert response.status_code == 400
    assert field in response.json()
    assert not Token.objects.exists()


def test_an_inactive_user_gets_no_token(api_client):
    user = StudentFactory(is_active=False)
    response = api_client.post(TOKEN_URL, {"username": user.username, "password": DEFAULT_PASSWORD})
    assert response.status_code == 400


def test_no_credentials_is_401_with_a_token_challenge(api_client):
    response = api_client.get(ME_URL)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_an_unknown_token_is_401(api_client):
    api_client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert api_client.get(ME_URL).status_code == 401


def test_session_authentication_works_for_the_browser(session_client):
    user = InstructorFactory()
    response = session_client(user).get(ME_URL)
    assert response.status_code == 200
    assert response.json()["username"] == user.username


@pytest.mark.parametrize(
    ("make_user", "role"),
    [
        (StudentFactory, "student"),
        (InstructorFactory, "instructor"),
        (StaffFactory, "instructor"),
    ],
)
def test_me_describes_the_caller(token_client, make_user, role):
    user = make_user()

    body = token_client(user).get(ME_URL).json()

    assert body == {
        "id": user.pk,
        "username": user.username,
        "role": role,
        "specialization": None,
        "credit_balance": 0,
        "notify_reminders": True,
        "notify_waitlist_changes": True,
        "notify_credit_grants": True,
        # Created on this first read (calendars.services.calendar_token_for).
        "calendar_url": f"webcal://127.0.0.1:8000/calendar/{user.calendar_token.key}.ics",
    }


def test_me_names_the_specialization_by_code_and_shows_the_balance(token_client):
    from bookings.tests.factories import CreditGrantFactory

    student = StudentFactory(specialization=SpecializationFactory(code="LFA_COACH"))
    CreditGrantFactory(user=student, amount=7)

    body = token_client(student).get(ME_URL).json()

    assert body["specialization"] == "LFA_COACH"
    assert body["credit_balance"] == 7
