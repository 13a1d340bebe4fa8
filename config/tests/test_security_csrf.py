"""CSRF: a browser's session cookie alone cannot write through the API; a token can.

DRF's SessionAuthentication enforces Django's CSRF check on unsafe methods, so a
page on another site cannot ride the user's session; TokenAuthentication needs no
CSRF token because a browser never sends the Authorization header by itself.
"""

import pytest
from rest_framework.authtoken.models import Token

from accounts.tests.factories import StaffFactory, StudentFactory
from bookings.models import Booking
from bookings.tests.factories import CreditGrantFactory
from conftest import ContractClient
from scheduling.models import Specialization
from scheduling.tests.factories import SessionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def student():
    student = StudentFactory()
    CreditGrantFactory(user=student, amount=5)
    return student


def _csrf_token(client: ContractClient) -> str:
    """The token a page of the site hands the browser (the login form sets the cookie)."""
    client.get("/accounts/login/")
    return client.cookies["csrftoken"].value


def _session_client(user) -> ContractClient:
    client = ContractClient(enforce_csrf_checks=True)
    client.force_login(user)
    return client


WRITES = [
    ("post", "/api/v1/bookings/", lambda: {"session": SessionFactory().pk}, "student", 201),
    ("post", "/api/v1/specializations/", lambda: {"code": "NEW", "name": "New"}, "staff", 201),
]


def _users(student):
    return {"student": student, "staff": StaffFactory()}


def _rows() -> tuple[int, int]:
    return Booking.objects.count(), Specialization.objects.count()


@pytest.mark.parametrize(("method", "path", "body", "role", "created"), WRITES)
def test_a_session_write_without_the_csrf_token_is_refused(
    student, method, path, body, role, created
):
    client = _session_client(_users(student)[role])
    data = body()
    before = _rows()

    response = getattr(client, method)(path, data, format="json")

    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]
    assert _rows() == before


@pytest.mark.parametrize(("method", "path", "body", "role", "created"), WRITES)
def test_a_session_write_with_the_csrf_token_succeeds(student, method, path, body, role, created):
    client = _session_client(_users(student)[role])
    token = _csrf_token(client)

    response = getattr(client, method)(path, body(), format="json", HTTP_X_CSRFTOKEN=token)

    assert response.status_code == created


@pytest.mark.parametrize(("method", "path", "body", "role", "created"), WRITES)
def test_a_token_write_needs_no_csrf_token(student, method, path, body, role, created):
    client = ContractClient(enforce_csrf_checks=True)
    user = _users(student)[role]
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")

    response = getattr(client, method)(path, body(), format="json")

    assert response.status_code == created


def test_a_session_read_needs_no_csrf_token(student):
    assert _session_client(student).get("/api/v1/me/").status_code == 200
