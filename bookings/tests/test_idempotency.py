"""Idempotency-Key on the writes that move seats or credits (SPEC §4)."""

import threading
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.response import Response
from rest_framework.test import APIClient

from bookings import idempotency
from bookings.models import Booking, CreditTransaction, IdempotencyKey
from bookings.services import book_session
from bookings.tests.api_world import build_world
from bookings.tests.factories import BookingFactory
from config.errors import Busy

pytestmark = pytest.mark.django_db

BOOKINGS = "/api/v1/bookings/"
GRANT = "/api/v1/credits/grant/"
KEY = "3f0c2b7e-retry-me"

on_postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs PostgreSQL: SQLite serialises writers, the advisory lock is PostgreSQL's",
)


@pytest.fixture
def world():
    return build_world()


def _post(client, url, data=None, key=KEY):
    headers = {} if key is None else {"Idempotency-Key": key}
    return client.post(url, data or {}, format="json", headers=headers)


def _charges(student):
    return CreditTransaction.objects.filter(user=student, kind="booking").count()


def test_a_retry_replays_the_first_response_without_booking_again(as_role, world):
    client = as_role("student")
    first = _post(client, BOOKINGS, {"session": world.session.pk})
    again = _post(client, BOOKINGS, {"session": world.session.pk})
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert "Idempotent-Replayed" not in first.headers
    assert again.headers["Idempotent-Replayed"] == "true"
    assert Booking.objects.filter(student=world.student).count() == 1
    assert _charges(world.student) == 1
    world.student.refresh_from_db()
    assert world.student.credit_balance == 9


def test_without_a_key_a_retry_is_a_second_request(as_role, world):
    client = as_role("student")
    assert _post(client, BOOKINGS, {"session": world.session.pk}, key=None).status_code == 201
    again = _post(client, BOOKINGS, {"session": world.session.pk}, key=None)
    assert (again.status_code, again.json()["code"]) == (409, "already_booked")
    assert not IdempotencyKey.objects.exists()


def test_the_key_is_stored_with_the_request_fingerprint(as_role, world):
    _post(as_role("student"), BOOKINGS, {"session": world.session.pk})
    stored = IdempotencyKey.objects.get()
    assert (stored.user, stored.key, stored.endpoint, stored.response_status) == (
        world.student,
        KEY,
        BOOKINGS,
        201,
    )
    assert stored.request_fingerprint == idempotency.request_fingerprint(
        "POST", BOOKINGS, {"session": world.session.pk}
    )


def test_the_same_key_with_another_body_is_422(as_role, world):
    client = as_role("student")
    _post(client, BOOKINGS, {"session": world.session.pk})
    other = _post(client, BOOKINGS, {"session": world.other_session.pk})
    assert other.status_code == 422
    assert other.json() == {"detail": other.json()["detail"], "code": "idempotency_key_reused"}
    assert not Booking.objects.filter(session=world.other_session).exists()


def test_the_same_key_on_another_endpoint_is_422(as_role, world):
    client = as_role("student")
    booked = _post(client, BOOKINGS, {"session": world.session.pk}).json()
    response = _post(client, f"{BOOKINGS}{booked['id']}/cancel/")
    assert (response.status_code, response.json()["code"]) == (422, "idempotency_key_reused")
    assert Booking.objects.get(pk=booked["id"]).status == Booking.Status.CONFIRMED


def test_keys_belong_to_one_user(as_role, world):
    mine = _post(as_role("student"), BOOKINGS, {"session": world.session.pk})
    theirs = _post(as_role("other_student"), BOOKINGS, {"session": world.session.pk})
    assert theirs.status_code == 201
    assert "Idempotent-Replayed" not in theirs.headers
    assert theirs.json()["id"] != mine.json()["id"]


def test_a_domain_refusal_is_stored_and_replayed(as_role, world):
    world.session.credit_cost = 11
    world.session.save()
    client = as_role("student")
    refused = _post(client, BOOKINGS, {"session": world.session.pk})
    assert (refused.status_code, refused.json()["code"]) == (409, "insufficient_credits")
    # The student can pay now; the key still answers what it answered.
    _post(as_role("staff"), GRANT, {"student": world.student.pk, "amount": 5}, key="top-up")
    replayed = _post(client, BOOKINGS, {"session": world.session.pk})
    assert (replayed.status_code, replayed.json()) == (409, refused.json())
    assert replayed.headers["Idempotent-Replayed"] == "true"
    assert _post(client, BOOKINGS, {"session": world.session.pk}, key="new").status_code == 201


def test_invalid_input_is_not_stored(as_role, world):
    client = as_role("student")
    assert _post(client, BOOKINGS, {"session": "nope"}).status_code == 400
    assert not IdempotencyKey.objects.exists()
    fixed = _post(client, BOOKINGS, {"session": world.session.pk})
    assert fixed.status_code == 201
    assert "Idempotent-Replayed" not in fixed.headers


def test_a_busy_answer_is_not_stored(as_role, world, monkeypatch):
    def busy(**kwargs):
        raise Busy("The session is busy; retry shortly.")

    monkeypatch.setattr("bookings.api.views.book_session", busy)
    response = _post(as_role("student"), BOOKINGS, {"session": world.session.pk})
    assert (response.status_code, response.headers["Retry-After"]) == (503, "2")
    assert not IdempotencyKey.objects.exists()


def test_a_server_error_is_not_stored_and_its_work_rolls_back(world, monkeypatch):
    def book_then_crash(**kwargs):
        book_session(**kwargs)
        raise RuntimeError("crash after the work")

    monkeypatch.setattr("bookings.api.views.book_session", book_then_crash)
    client = APIClient(raise_request_exception=False)
    client.force_authenticate(world.student)
    response = _post(client, BOOKINGS, {"session": world.session.pk})
    assert response.status_code == 500
    assert not IdempotencyKey.objects.exists()
    assert not Booking.objects.exists()
    world.student.refresh_from_db()
    assert world.student.credit_balance == 10


def test_expired_keys_are_ignored_and_purged(as_role, world, settings):
    client = as_role("staff")
    body = {"student": world.student.pk, "amount": 2}
    _post(client, GRANT, body)
    IdempotencyKey.objects.update(
        created_at=timezone.now() - timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS, minutes=1)
    )
    again = _post(client, GRANT, body)
    assert again.status_code == 201
    assert "Idempotent-Replayed" not in again.headers
    assert CreditTransaction.objects.filter(user=world.student, amount=2).count() == 2
    assert IdempotencyKey.objects.count() == 1  # The expired one is gone, the new one kept.
    assert IdempotencyKey.objects.get().created_at > timezone.now() - timedelta(minutes=1)


def test_a_key_younger_than_the_ttl_still_replays(as_role, world, settings):
    client = as_role("staff")
    body = {"student": world.student.pk, "amount": 2}
    _post(client, GRANT, body)
    IdempotencyKey.objects.update(
        created_at=timezone.now() - timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS - 1)
    )
    assert _post(client, GRANT, body).headers["Idempotent-Replayed"] == "true"
    assert CreditTransaction.objects.filter(user=world.student, amount=2).count() == 1


@pytest.mark.parametrize(("length", "status"), [(255, 201), (256, 400)])
def test_a_key_is_at_most_255_characters(as_role, world, length, status):
    response = _post(as_role("student"), BOOKINGS, {"session": world.session.pk}, key="k" * length)
    assert response.status_code == status
    if status == 400:
        assert "Idempotency-Key" in response.json()
        assert not Booking.objects.exists()


def test_cancel_is_replayed_with_its_refund(as_role, world):
    client = as_role("student")
    booked = _post(client, BOOKINGS, {"session": world.session.pk}, key=None).json()
    url = f"{BOOKINGS}{booked['id']}/cancel/"
    first = _post(client, url)
    again = _post(client, url)
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    assert again.json()["credits_refunded"] == 1
    assert again.headers["Idempotent-Replayed"] == "true"
    assert CreditTransaction.objects.filter(user=world.student, kind="refund").count() == 1
    # Without the key the same retry is refused: the replay is what made it safe.
    assert _post(client, url, key=None).json()["code"] == "already_cancelled"


def test_grant_is_replayed_once_granted(as_role, world):
    client = as_role("staff")
    body = {"student": world.student.pk, "amount": 7, "note": "Refund of a lost card"}
    first = _post(client, GRANT, body)
    again = _post(client, GRANT, body)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    world.student.refresh_from_db()
    assert world.student.credit_balance == 17


def test_the_fingerprint_ignores_key_order_but_not_values_path_or_method():
    fingerprint = idempotency.request_fingerprint
    base = fingerprint("POST", "/x/", {"a": 1, "b": [1, 2]})
    assert base == fingerprint("POST", "/x/", {"b": [1, 2], "a": 1})
    assert base != fingerprint("POST", "/x/", {"a": 2, "b": [1, 2]})
    assert base != fingerprint("POST", "/y/", {"a": 1, "b": [1, 2]})
    assert base != fingerprint("PUT", "/x/", {"a": 1, "b": [1, 2]})


def test_the_keys_insert_comes_first_and_the_work_runs_without_a_savepoint(as_role, world):
    """The key's INSERT is the transaction's first statement: it takes SQLite's write
    lock (what serialises two requests with one key there) and, on PostgreSQL, the
    row that a second request with the key waits on. The service joins that
    transaction (no SAVEPOINT), and the response is stored by one UPDATE."""
    with CaptureQueriesContext(connection) as queries:
        response = _post(as_role("student"), BOOKINGS, {"session": world.session.pk})
    assert response.status_code == 201
    statements = [query["sql"] for query in queries.captured_queries]
    keyed = [n for n, sql in enumerate(statements) if "idempotencykey" in sql]
    first, last = keyed[0], keyed[-1]
    assert statements[first].startswith("INSERT") and "ON CONFLICT" in statements[first]
    assert statements[last].startswith("UPDATE") and len(keyed) == 2
    # Only the test's own transaction is a savepoint: nothing nested in it is.
    assert statements[first - 1].startswith("SAVEPOINT")
    work = statements[first + 1 : last]
    assert work and not any(sql.startswith(("SAVEPOINT", "RELEASE")) for sql in work)


def test_a_refusal_inside_a_service_is_stored_alone(as_role, world):
    """`already_booked` is raised inside book_session's transaction, which joined the
    key's (no savepoint): the whole transaction rolls back, and the refusal is stored
    with its key in one of its own, then replayed."""
    client = as_role("student")
    assert _post(client, BOOKINGS, {"session": world.session.pk}, key=None).status_code == 201
    refused = _post(client, BOOKINGS, {"session": world.session.pk})
    assert (refused.status_code, refused.json()["code"]) == (409, "already_booked")
    again = _post(client, BOOKINGS, {"session": world.session.pk})
    assert (again.status_code, again.headers["Idempotent-Replayed"]) == (409, "true")
    assert again.json() == refused.json()
    stored = IdempotencyKey.objects.get()
    assert (stored.response_status, stored.response_body) == (409, refused.json())
    assert Booking.objects.filter(student=world.student).count() == 1


def test_run_once_runs_the_work_once(world):
    calls = []

    def work():
        calls.append(1)
        return Response({"n": len(calls)}, status=201)

    run = {"user": world.student, "key": "k", "endpoint": "/x/", "fingerprint": "f" * 64}
    first = idempotency.run_once(work=work, **run)
    again = idempotency.run_once(work=work, **run)
    assert calls == [1]
    assert (first.data, again.data, again.status_code) == ({"n": 1}, {"n": 1}, 201)
    reused = idempotency.run_once(work=work, **{**run, "fingerprint": "e" * 64})
    assert (reused.status_code, reused.data["code"]) == (422, "idempotency_key_reused")


@on_postgresql_only
def test_a_retry_while_the_first_still_runs_is_409_in_flight(as_role, world, settings):
    settings.BOOKING_LOCK_TIMEOUT_MS = 200
    client = as_role("student")  # The token row exists before the other connection waits.
    holder = connections.create_connection("default")
    try:
        holder.set_autocommit(False)
        with holder.cursor() as cursor:
            # What the first request holds while it runs: its key's row, not yet committed.
            cursor.execute(
                "INSERT INTO bookings_idempotencykey (user_id, key, endpoint, "
                "request_fingerprint, response_status, response_body, created_at) "
                "VALUES (%s, %s, %s, %s, 0, '{}', now())",
                [world.student.pk, KEY, BOOKINGS, "0" * 64],
            )
        response = _post(client, BOOKINGS, {"session": world.session.pk})
        assert response.status_code == 409
        assert response.json()["code"] == "idempotency_in_flight"
        assert not Booking.objects.exists()
        # Another key is not held up.
        assert (
            _post(client, BOOKINGS, {"session": world.session.pk}, key="other").status_code == 201
        )
    finally:
        holder.close()


@on_postgresql_only
@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_a_retry_storm_books_once_and_answers_alike(token_client):
    world = build_world()
    clients = [token_client(world.student) for _ in range(10)]
    barrier = threading.Barrier(len(clients))
    responses = [None] * len(clients)
    errors = []

    def retry(index):
        try:
            barrier.wait(timeout=10)
            responses[index] = _post(clients[index], BOOKINGS, {"session": world.session.pk})
        except Exception as error:  # Reported below: a thread's failure must fail the test.
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=retry, args=(i,)) for i in range(len(clients))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert {response.status_code for response in responses} == {201}
    bodies = [response.json() for response in responses]
    assert all(body == bodies[0] for body in bodies)
    replayed = [response.headers.get("Idempotent-Replayed") for response in responses]
    assert replayed.count("true") == len(clients) - 1
    assert Booking.objects.filter(student=world.student).count() == 1
    assert _charges(world.student) == 1
    world.student.refresh_from_db()
    assert world.student.credit_balance == 9
    assert IdempotencyKey.objects.count() == 1


def test_a_booking_made_without_a_key_is_not_replayed_for_a_key(as_role, world):
    BookingFactory(student=world.student, session=world.session)
    response = _post(as_role("student"), BOOKINGS, {"session": world.session.pk})
    assert (response.status_code, response.json()["code"]) == (409, "already_booked")


def test_the_purge_command_deletes_only_expired_keys(world, settings):
    def key(name, age_hours):
        row = IdempotencyKey.objects.create(
            user=world.student,
            key=name,
            endpoint=BOOKINGS,
            request_fingerprint="0" * 64,
            response_status=201,
            response_body={},
        )
        IdempotencyKey.objects.filter(pk=row.pk).update(
            created_at=timezone.now() - timedelta(hours=age_hours)
        )

    ttl = settings.IDEMPOTENCY_KEY_TTL_HOURS
    key("old", ttl + 1)
    key("fresh", ttl - 1)
    out = StringIO()
    call_command("purge_idempotency_keys", stdout=out)
    assert "Deleted 1 " in out.getvalue()
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["fresh"]
