"""Incremental sync through the API lists: `updated_since`, ETag and 304 (config/sync.py)."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django.utils.http import http_date

from accounts.tests.factories import StaffFactory, StudentFactory
from bookings.models import Booking
from bookings.services import book_session, grant_credits
from bookings.tests.factories import BookingFactory
from scheduling.models import Session
from scheduling.tests.factories import SessionFactory

pytestmark = pytest.mark.django_db

LISTS = ["/api/v1/sessions/", "/api/v1/bookings/", "/api/v1/activity/"]


@pytest.mark.parametrize("path", LISTS)
@pytest.mark.parametrize("value", ["yesterday", "2026-13-01T00:00:00Z", "2026-02-30T00:00:00Z"])
def test_a_malformed_updated_since_is_a_400_naming_it(token_client, path, value):
    response = token_client(StaffFactory()).get(path, {"updated_since": value})

    assert response.status_code == 400
    assert list(response.json()) == ["updated_since"]


def _stamp(model, pk: int, when) -> None:
    # The column as a write at that instant would have left it (auto_now cannot be given).
    model.objects.filter(pk=pk).update(updated_at=when)


@pytest.mark.parametrize(
    ("path", "model"), [("/api/v1/sessions/", Session), ("/api/v1/bookings/", Booking)]
)
def test_updated_since_is_inclusive_to_the_microsecond(token_client, path, model):
    booking = BookingFactory()
    row = booking.session if model is Session else booking
    stamp = timezone.now().replace(microsecond=123456)
    _stamp(model, row.pk, stamp)
    _stamp(model, row.pk, stamp)
    api = token_client(StaffFactory())

    def ids(since) -> list[int]:
        return [
            r["id"] for r in api.get(path, {"updated_since": since.isoformat()}).json()["results"]
        ]

    assert ids(stamp) == [row.pk]  # equal: included
    assert ids(stamp - timedelta(microseconds=1)) == [row.pk]
    assert ids(stamp + timedelta(microseconds=1)) == []
    # The same instant written with another offset is the same instant.
    assert ids(stamp.astimezone(timezone.get_fixed_timezone(-300))) == [row.pk]


def test_an_unchanged_list_is_a_304_and_renders_nothing(token_client, django_assert_num_queries):
    SessionFactory.create_batch(3)
    api = token_client(StaffFactory())
    first = api.get("/api/v1/sessions/")
    etag = first["ETag"]
    newest = Session.objects.order_by("-updated_at").first().updated_at
    assert first["Last-Modified"] == http_date(newest.timestamp())

    # 1 token and user, 1 the validator (count, newest updated_at, newest activity): no page.
    with django_assert_num_queries(2):
        again = api.get("/api/v1/sessions/", HTTP_IF_NONE_MATCH=etag)

    assert again.status_code == 304
    assert again.content == b""
    assert again["ETag"] == etag
    # Another page, filter or caller is another list.
    assert api.get("/api/v1/sessions/?page_size=2", HTTP_IF_NONE_MATCH=etag).status_code == 200
    other = token_client(StaffFactory())
    assert other.get("/api/v1/sessions/", HTTP_IF_NONE_MATCH=etag).status_code == 200


@pytest.mark.parametrize("rows", [1, 50])
def test_a_304_costs_the_same_at_every_size(token_client, django_assert_num_queries, rows):
    student = StudentFactory()
    for _ in range(rows):
        BookingFactory(student=student)
    api = token_client(student)
    etag = api.get("/api/v1/bookings/")["ETag"]
    # 1 token and user, 1 the validator.
    with django_assert_num_queries(2):
        assert api.get("/api/v1/bookings/", HTTP_IF_NONE_MATCH=etag).status_code == 304


def test_a_booking_elsewhere_changes_the_session_list_tag(token_client):
    """The statistics move with bookings, not with the session's updated_at: the newest
    activity in the tag catches it."""
    staff, student = StaffFactory(), StudentFactory()
    session = SessionFactory()
    api = token_client(staff)
    etag = api.get("/api/v1/sessions/")["ETag"]
    grant_credits(student=student, amount=1, by=staff)
    assert api.get("/api/v1/sessions/", HTTP_IF_NONE_MATCH=etag).status_code == 200
    etag = api.get("/api/v1/sessions/")["ETag"]

    book_session(student=student, session=session, by=student)

    response = api.get("/api/v1/sessions/", HTTP_IF_NONE_MATCH=etag)
    assert response.status_code == 200
    assert response.json()["results"][0]["confirmed_count"] == 1


def test_a_sync_pass_sees_changes_then_deletions_through_the_activity_log(token_client):
    staff = StaffFactory()
    api = token_client(staff)
    kept, doomed = SessionFactory(), SessionFactory()

    full = api.get("/api/v1/sessions/")
    assert {r["id"] for r in full.json()["results"]} == {kept.pk, doomed.pk}
    mark = timezone.now()
    etag = full["ETag"]

    assert (
        api.patch(f"/api/v1/sessions/{kept.pk}/", {"title": "Moved"}, format="json").status_code
        == 200
    )
    assert api.delete(f"/api/v1/sessions/{doomed.pk}/").status_code == 204

    changed = api.get("/api/v1/sessions/", {"updated_since": mark.isoformat()})
    assert [r["title"] for r in changed.json()["results"]] == ["Moved"]
    assert api.get("/api/v1/sessions/", HTTP_IF_NONE_MATCH=etag).status_code == 200
    deleted = api.get("/api/v1/activity/", {"verb": "session.deleted", "since": mark.isoformat()})
    assert [a["target_id"] for a in deleted.json()["results"]] == [doomed.pk]
    again = api.get(
        "/api/v1/activity/",
        {"verb": "session.deleted", "since": mark.isoformat()},
        HTTP_IF_NONE_MATCH=deleted["ETag"],
    )
    assert again.status_code == 304


def test_a_cancelled_booking_shows_in_the_next_pass(token_client):
    student = StudentFactory()
    booking = BookingFactory(student=student)
    api = token_client(student)
    mark = timezone.now()

    response = api.post(f"/api/v1/bookings/{booking.pk}/cancel/")
    assert response.status_code == 200

    changed = api.get("/api/v1/bookings/", {"updated_since": mark.isoformat()}).json()["results"]
    assert [(r["id"], r["status"]) for r in changed] == [(booking.pk, "cancelled")]


@pytest.mark.parametrize(
    ("query", "status"),
    [("page=x", 404), ("page=9", 404), ("page_size=0", 400), ("updated_since=x", 400)],
)
def test_a_matching_tag_never_hides_a_bad_request(token_client, query, status):
    SessionFactory()
    api = token_client(StaffFactory())
    assert api.get(f"/api/v1/sessions/?{query}", HTTP_IF_NONE_MATCH="*").status_code == status
    assert api.get(f"/api/v1/bookings/?{query}", HTTP_IF_NONE_MATCH="*").status_code == status


def test_a_bad_cursor_is_a_404_even_with_a_matching_tag(token_client):
    api = token_client(StaffFactory())
    response = api.get("/api/v1/activity/?cursor=nonsense", HTTP_IF_NONE_MATCH="*")
    assert response.status_code == 404
    assert api.get("/api/v1/activity/", HTTP_IF_NONE_MATCH="*").status_code == 304
