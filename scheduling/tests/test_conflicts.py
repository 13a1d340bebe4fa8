"""Instructor and location conflicts (scheduling/conflicts.py), through the API."""

from datetime import datetime, timedelta
from functools import partial

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from accounts.tests.factories import InstructorFactory
from activity.models import Activity
from bookings.tests.conftest import run_together
from config.atomic import service_transaction
from config.errors import Conflict
from scheduling.models import Session
from scheduling.services import session_create
from scheduling.tests.api_world import build_world, session_payload
from scheduling.tests.factories import SessionFactory

pytestmark = pytest.mark.django_db

LIST = "/api/v1/sessions/"
on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the exclusion constraint is PostgreSQL's"
)


def existing(world, **fields) -> Session:
    """A scheduled on-site session of the world's semester at the payload's time."""
    payload = session_payload(world)
    return SessionFactory(
        semester=world.semester,
        instructor=fields.pop("instructor", world.instructor),
        date_start=datetime.fromisoformat(payload["date_start"]),
        date_end=datetime.fromisoformat(payload["date_end"]),
        **fields,
    )


def test_an_instructor_cannot_teach_two_overlapping_sessions(token_client):
    world = build_world()
    taken = existing(world, title="Serve drills", location="Court 2")
    start = taken.date_start + timedelta(hours=1)

    response = token_client(world.master).post(
        LIST, session_payload(world, date_start=start, date_end=start + timedelta(hours=2))
    )

    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "instructor_busy"
    assert [c["id"] for c in body["conflicts"]] == [taken.pk]
    assert "Serve drills" in body["detail"]
    assert Session.objects.count() == 2


def test_back_to_back_sessions_and_cancelled_ones_do_not_conflict(token_client):
    world = build_world()
    before = existing(world, location="Court 2")
    cancelled = existing(world, location="Court 3", status=Session.Status.CANCELLED)
    client = token_client(world.master)

    back_to_back = client.post(
        LIST,
        session_payload(
            world, date_start=before.date_end, date_end=before.date_end + timedelta(hours=1)
        ),
    )
    over_the_cancelled = client.post(
        LIST,
        session_payload(
            world,
            date_start=cancelled.date_start,
            date_end=cancelled.date_start - timedelta(hours=-1),
            location="Court 3",
        )
        | {"instructor": InstructorFactory().pk},
    )

    assert back_to_back.status_code == 201
    assert over_the_cancelled.status_code == 201


def test_one_location_cannot_hold_two_overlapping_sessions(token_client):
    world = build_world()
    taken = existing(world, instructor=InstructorFactory(), location="Court  2")
    other = InstructorFactory()

    response = token_client(world.master).post(
        LIST, session_payload(world, instructor=other.pk, location=" court 2")
    )

    assert response.status_code == 409
    assert response.json()["code"] == "location_busy"
    assert [c["id"] for c in response.json()["conflicts"]] == [taken.pk]


def test_a_shareable_location_holds_overlapping_sessions(token_client, settings):
    settings.SHAREABLE_LOCATIONS = ["Sports Hall"]
    world = build_world()
    existing(world, instructor=InstructorFactory(), location="sports hall")

    response = token_client(world.master).post(LIST, session_payload(world, location="SportsHall"))

    assert response.status_code == 201


def test_staff_may_allow_an_overlap_with_a_reason_that_is_recorded(token_client):
    world = build_world()
    existing(world, location="Court 2")
    client = token_client(world.staff)

    without_reason = client.post(LIST, session_payload(world, allow_overlap=True))
    with_reason = client.post(
        LIST, session_payload(world, allow_overlap=True, overlap_reason="Joint clinic")
    )

    assert without_reason.status_code == 400
    assert "overlap_reason" in without_reason.json()
    assert with_reason.status_code == 201
    created = Activity.objects.get(verb="session.created", target_id=with_reason.json()["id"])
    assert created.data["allow_overlap"] is True
    assert created.data["overlap_reason"] == "Joint clinic"


def test_only_staff_may_allow_an_overlap(token_client):
    world = build_world()

    response = token_client(world.master).post(
        LIST, session_payload(world, allow_overlap=True, overlap_reason="Mine")
    )

    assert response.status_code == 403


def test_moving_a_session_onto_another_is_refused(token_client):
    world = build_world()
    taken = existing(world, location="Court 2")
    moving = SessionFactory(
        semester=world.semester,
        instructor=world.instructor,
        date_start=taken.date_start + timedelta(days=1),
        date_end=taken.date_end + timedelta(days=1),
    )

    response = token_client(world.master).patch(
        f"{LIST}{moving.pk}/",
        {"date_start": taken.date_start.isoformat(), "date_end": taken.date_end.isoformat()},
    )

    assert response.status_code == 409
    assert response.json()["code"] == "instructor_busy"
    moving.refresh_from_db()
    assert moving.date_start == taken.date_start + timedelta(days=1)


@on_postgresql
def test_the_exclusion_constraint_stands_behind_the_service():
    taken = SessionFactory()
    twin = Session(
        title="Twin",
        semester=taken.semester,
        instructor=taken.instructor,
        date_start=taken.date_start + timedelta(minutes=30),
        date_end=taken.date_end + timedelta(minutes=30),
    )

    with pytest.raises(IntegrityError), transaction.atomic():
        twin.save()
    with pytest.raises(Conflict) as refused, service_transaction():
        twin.save()
    assert refused.value.code == "instructor_busy"
    # allow_overlap rows and cancelled rows are outside the constraint.
    twin.allow_overlap, twin.overlap_reason = True, "Joint clinic"
    twin.save()


@on_postgresql
@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_overlapping_creations_give_one_session(settings):
    settings.BOOKING_LOCK_TIMEOUT_MS = 30_000
    world = build_world()
    payload = session_payload(world)
    fields = {
        "title": "Race",
        "instructor": world.instructor,
        "date_start": payload["date_start"],
        "date_end": payload["date_end"],
    }
    calls = [
        partial(
            session_create,
            by=world.master,
            semester=world.semester,
            location=f"Court {n}",
            **fields,
        )
        for n in range(2)
    ]

    outcome = run_together(calls)

    assert len(outcome.results) == 1
    assert [getattr(e, "code", e) for e in outcome.errors.values()] == ["instructor_busy"]
    assert Session.objects.filter(title="Race").count() == 1


@on_postgresql
@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_concurrent_creations_in_one_room_give_one_session(settings):
    # A location has no row to lock and no constraint behind it: the advisory lock in
    # conflicts.lock_conflict_guards is all that keeps two of these from both passing.
    settings.BOOKING_LOCK_TIMEOUT_MS = 30_000
    world = build_world()
    payload = session_payload(world)
    spellings = ["Court 7", "court 7", " COURT  7 ", "court  7", "Court 7 "] * 2
    calls = [
        partial(
            session_create,
            by=world.master,
            semester=world.semester,
            title="Room race",
            instructor=InstructorFactory(),
            location=spelling,
            date_start=payload["date_start"],
            date_end=payload["date_end"],
        )
        for spelling in spellings
    ]

    outcome = run_together(calls)

    assert len(outcome.results) == 1
    codes = [getattr(e, "code", e) for e in outcome.errors.values()]
    assert codes == ["location_busy"] * (len(spellings) - 1)
    assert Session.objects.filter(title="Room race").count() == 1


def test_the_admin_form_shows_a_conflict_on_the_instructor_field(client):
    from django.urls import reverse

    from accounts.tests.factories import StaffFactory

    world = build_world()
    taken = existing(world, location="Court 2")
    staff = StaffFactory(is_superuser=True)
    client.force_login(staff)

    response = client.post(
        reverse("admin:scheduling_session_add"),
        {
            "title": "Clash",
            "description": "",
            "semester": world.semester.pk,
            "instructor": world.instructor.pk,
            "session_type": "on_site",
            "date_start_0": timezone.localtime(taken.date_start).date().isoformat(),
            "date_start_1": timezone.localtime(taken.date_start).time().isoformat(),
            "date_end_0": timezone.localtime(taken.date_end).date().isoformat(),
            "date_end_1": timezone.localtime(taken.date_end).time().isoformat(),
            "capacity": 5,
            "credit_cost": 1,
            "location": "Court 9",
            "overlap_reason": "",
            "bookings-TOTAL_FORMS": 0,
            "bookings-INITIAL_FORMS": 0,
        },
    )

    assert response.status_code == 200
    assert "instructor" in response.context["adminform"].form.errors
    assert Session.objects.filter(title="Clash").count() == 0


def test_the_master_instructor_may_resend_but_not_change_a_staff_overlap(token_client):
    world = build_world()
    existing(world, location="Court 2")
    created = token_client(world.staff).post(
        LIST, session_payload(world, allow_overlap=True, overlap_reason="Joint clinic")
    )
    master = token_client(world.master)
    url = f"{LIST}{created.json()['id']}/"

    resent = master.patch(
        url, {"allow_overlap": True, "overlap_reason": "Joint clinic", "title": "Renamed"}
    )
    reworded = master.patch(url, {"overlap_reason": "Mine now"})
    withdrawn = master.patch(url, {"allow_overlap": False})

    assert resent.status_code == 200
    assert reworded.status_code == 403
    # Without the flag the session clashes again: refused, the overlap stays.
    assert withdrawn.status_code == 409 and withdrawn.json()["code"] == "instructor_busy"


def test_withdrawing_an_overlap_clears_its_reason_in_the_database(token_client):
    """The flag goes off with nothing to clash with: the stored reason goes too, not
    only on the instance that was saved."""
    world = build_world()
    created = token_client(world.staff).post(
        LIST, session_payload(world, allow_overlap=True, overlap_reason="Joint clinic")
    )
    url = f"{LIST}{created.json()['id']}/"

    withdrawn = token_client(world.staff).patch(url, {"allow_overlap": False})

    assert withdrawn.status_code == 200
    stored = Session.objects.values("allow_overlap", "overlap_reason").get(pk=created.json()["id"])
    assert stored == {"allow_overlap": False, "overlap_reason": ""}


def test_the_flag_alone_is_staff_only_even_without_a_reason(token_client):
    """A master instructor sending only allow_overlap is refused for who they are (403),
    before the missing reason (400) is looked at."""
    world = build_world()
    payload = session_payload(world, allow_overlap=True)
    payload.pop("overlap_reason", None)

    response = token_client(world.master).post(LIST, payload)

    assert (response.status_code, response.json()["detail"]) == (
        403,
        "Only staff may allow a session to overlap others.",
    )
    assert not Session.objects.filter(title=payload["title"]).exists()


def test_a_session_that_allows_overlap_blocks_nobody(token_client):
    """Staff let one session overlap: a later session at the same time, same instructor,
    is not refused because of it."""
    world = build_world()
    existing(world, location="Court 2", allow_overlap=True, overlap_reason="Joint clinic")

    response = token_client(world.master).post(LIST, session_payload(world, location="Court 4"))

    assert response.status_code == 201


@pytest.mark.parametrize("later_first", [False, True])
def test_a_refusal_lists_the_clashing_sessions_by_start_at_a_fixed_cost(
    token_client, django_assert_num_queries, later_first
):
    """Two sessions clash with the new one: the 409 names both, earlier first, whichever
    was created first; and the refusal reads them in one statement, fields and all."""
    world = build_world()
    payload = session_payload(world)
    start = datetime.fromisoformat(payload["date_start"])
    spans = [
        (start - timedelta(minutes=30), start + timedelta(minutes=30)),
        (start + timedelta(hours=1), start + timedelta(hours=3)),
    ]
    if later_first:
        spans.reverse()
    made = {
        span: SessionFactory(
            semester=world.semester,
            instructor=world.instructor,
            date_start=span[0],
            date_end=span[1],
            location=f"Court {n}",
        )
        for n, span in enumerate(spans)
    }
    client = token_client(world.master)
    postgresql_only = 2 if connection.vendor == "postgresql" else 0  # lock timeout, room lock

    # the token with its user; the semester; the instructor; SAVEPOINT; the instructor's
    # row lock; the conflicts (one read); ROLLBACK TO SAVEPOINT; RELEASE.
    with django_assert_num_queries(8 + postgresql_only):
        response = client.post(LIST, payload)

    assert response.status_code == 409
    by_start = [made[span].pk for span in sorted(spans)]
    assert [c["id"] for c in response.json()["conflicts"]] == by_start


def test_clashing_sessions_that_start_together_are_listed_by_id(token_client):
    """Two other instructors' sessions in the room at the same start. The later id is
    written first, so PostgreSQL's storage order would list it first without the
    tie-break."""
    world = build_world()
    payload = session_payload(world, location="Court 7")
    start = datetime.fromisoformat(payload["date_start"])
    for pk in (900_002, 900_001):
        SessionFactory(
            pk=pk,
            semester=world.semester,
            instructor=InstructorFactory(),
            date_start=start,
            date_end=start + timedelta(hours=1),
            location="Court 7",
        )

    response = token_client(world.master).post(LIST, payload)

    assert response.json()["code"] == "location_busy"
    assert [c["id"] for c in response.json()["conflicts"]] == [900_001, 900_002]


def test_a_room_refusal_reads_the_clashing_session_in_one_statement(
    token_client, django_assert_num_queries
):
    """Another instructor holds the room: the refusal compares the rooms of the rows it
    read, with no query per row."""
    world = build_world()
    payload = session_payload(world, location="Court 7")
    start = datetime.fromisoformat(payload["date_start"])
    holder = SessionFactory(
        semester=world.semester,
        instructor=InstructorFactory(),
        date_start=start,
        date_end=start + timedelta(hours=1),
        location="Court 7",
    )
    client = token_client(world.master)
    postgresql_only = 2 if connection.vendor == "postgresql" else 0  # lock timeout, room lock

    # As test_a_refusal_lists_the_clashing_sessions_by_start_at_a_fixed_cost.
    with django_assert_num_queries(8 + postgresql_only):
        response = client.post(LIST, payload)

    assert (response.json()["code"], [c["id"] for c in response.json()["conflicts"]]) == (
        "location_busy",
        [holder.pk],
    )
