"""The Idempotency-Key header as clients send it: UTF-8 text, counted in characters."""

import pytest

from bookings.models import Booking, IdempotencyKey
from bookings.tests.api_world import build_world

pytestmark = pytest.mark.django_db

BOOKINGS = "/api/v1/bookings/"


def as_wsgi_sees_it(key: str) -> str:
    """A header value as WSGI hands it over (PEP 3333): each byte of the UTF-8 the
    client sent becomes one latin-1 character."""
    return key.encode().decode("latin-1")


@pytest.fixture
def world():
    return build_world()


def _book(token_client, world, header_value: str):
    return token_client(world.student).post(
        BOOKINGS,
        {"session": world.session.pk},
        format="json",
        headers={"Idempotency-Key": header_value},
    )


@pytest.mark.parametrize(
    ("key", "status"),
    [
        ("é" * 255, 201),  # 510 bytes, 255 characters
        ("🏸" * 255, 201),  # 1020 bytes
        ("k" * 255, 201),
        ("é" * 256, 400),
        ("k" * 256, 400),
    ],
)
def test_the_length_counts_characters_not_bytes(token_client, world, key, status):
    response = _book(token_client, world, as_wsgi_sees_it(key))

    assert response.status_code == status, response.content[:300]
    if status == 201:
        assert IdempotencyKey.objects.get().key == key
    else:
        assert "Idempotency-Key" in response.json()
        assert not Booking.objects.exists()


def test_a_retry_with_a_non_ascii_key_is_replayed(token_client, world):
    first = _book(token_client, world, as_wsgi_sees_it("réessai-1"))
    again = _book(token_client, world, as_wsgi_sees_it("réessai-1"))

    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert Booking.objects.count() == 1


@pytest.mark.parametrize(
    "header_value",
    [
        "\xff\xfe",  # bytes that are not UTF-8
        "k\x00",  # NUL: PostgreSQL cannot store it
    ],
)
def test_a_key_that_is_not_storable_text_is_400_naming_the_header(
    token_client, world, header_value
):
    response = _book(token_client, world, header_value)

    assert response.status_code == 400, response.content[:300]
    assert "Idempotency-Key" in response.json()
    assert not Booking.objects.exists()
