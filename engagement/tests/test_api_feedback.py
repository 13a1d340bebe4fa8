"""/api/v1/feedback/: students rate sessions they attended, once (SPEC §3, §4)."""

import pytest

from bookings.tests.api_world import ROLES, build_world
from bookings.tests.factories import BookingFactory
from engagement.models import Feedback
from engagement.tests.factories import AttendanceFactory, FeedbackFactory
from scheduling.tests.factories import PastSessionFactory, SemesterFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/feedback/"


@pytest.fixture
def world():
    return build_world(session_factory=PastSessionFactory)


def _attended(student, session, status="present"):
    BookingFactory(student=student, session=session)
    AttendanceFactory(student=student, session=session, status=status)


@pytest.fixture
def feedback(world):
    _attended(world.student, world.session)
    _attended(world.other_student, world.other_session)
    return {
        "mine": FeedbackFactory(student=world.student, session=world.session),
        "other": FeedbackFactory(student=world.other_student, session=world.other_session),
    }


# role -> the feedback it sees (None: 401).
LIST_TABLE = {
    "anonymous": None,
    "student": {"mine"},
    "other_student": {"other"},
    "instructor": {"mine"},
    "master": {"mine"},
    "other_instructor": {"other"},
    "staff": {"mine", "other"},
}


@pytest.mark.parametrize(("role", "expected"), LIST_TABLE.items())
def test_list_is_scoped_to_the_caller(as_role, feedback, role, expected):
    response = as_role(role).get(URL)
    if expected is None:
        assert response.status_code == 401
        return
    assert response.status_code == 200
    assert {row["id"] for row in response.json()["results"]} == {
        feedback[name].pk for name in expected
    }


@pytest.mark.parametrize(
    ("role", "status"),
    [(role, 401 if expected is None else 200 if "mine" in expected else 404)
     for role, expected in LIST_TABLE.items()],
)  # fmt: skip
def test_retrieve_answers_404_for_feedback_the_caller_may_not_see(
    as_role, world, feedback, role, status
):
    response = as_role(role).get(f"{URL}{feedback['mine'].pk}/")
    assert response.status_code == status
    if status == 200:
        assert response.json() == {
            "id": feedback["mine"].pk,
            "session": world.session.pk,
            "session_title": world.session.title,
            "student": world.student.pk,
            "student_username": world.student.username,
            "rating": 5,
            "comment": "Clear and well paced.",
            "created_at": response.json()["created_at"],
        }


def test_filter_by_session(as_role, world, feedback):
    rows = as_role("staff").get(URL, {"session": world.other_session.pk}).json()["results"]
    assert [row["id"] for row in rows] == [feedback["other"].pk]


# role -> status of rating `session`, which only `student` attended.
CREATE_TABLE = {
    "anonymous": 401,
    "student": 201,
    "other_student": 409,  # Sees the session, was not there: not_attended.
    "instructor": 403,
    "master": 403,
    "other_instructor": 403,
    "staff": 403,
}


@pytest.mark.parametrize(("role", "status"), CREATE_TABLE.items())
def test_who_gives_feedback(as_role, world, role, status):
    _attended(world.student, world.session)
    response = as_role(role).post(URL, {"session": world.session.pk, "rating": 4, "comment": "Ok"})
    assert response.status_code == status
    if status == 201:
        feedback = Feedback.objects.get()
        assert (feedback.student, feedback.rating, feedback.comment) == (world.student, 4, "Ok")
        assert response.json()["id"] == feedback.pk
    else:
        assert not Feedback.objects.exists()
    if status == 409:
        assert response.json()["code"] == "not_attended"


@pytest.mark.parametrize(("attendance", "status"), [("present", 201), ("late", 201),
                                                    ("absent", 409), ("excused", 409)])  # fmt: skip
def test_only_students_marked_present_or_late_give_feedback(as_role, world, attendance, status):
    _attended(world.student, world.session, status=attendance)
    response = as_role("student").post(URL, {"session": world.session.pk, "rating": 3})
    assert response.status_code == status
    if status == 409:
        assert response.json()["detail"] == (
            "Feedback is for students marked present or late at the session."
        )


def test_being_present_at_another_session_gives_no_feedback_on_this_one(as_role, world):
    elsewhere = PastSessionFactory(semester=world.semester, instructor=world.instructor)
    _attended(world.student, elsewhere)
    BookingFactory(student=world.student, session=world.session)

    response = as_role("student").post(URL, {"session": world.session.pk, "rating": 3})

    assert (response.status_code, response.json()["code"]) == (409, "not_attended")
    assert not Feedback.objects.exists()


@pytest.mark.parametrize("rating", [0, 6])
def test_a_rating_outside_one_to_five_says_the_rule(as_role, world, rating):
    _attended(world.student, world.session)
    response = as_role("student").post(URL, {"session": world.session.pk, "rating": rating})
    assert response.json() == {"rating": ["The rating is a whole number from 1 to 5."]}


def test_a_rating_without_a_comment_stores_an_empty_comment(as_role, world):
    _attended(world.student, world.session)
    response = as_role("student").post(URL, {"session": world.session.pk, "rating": 4})
    assert response.status_code == 201
    assert Feedback.objects.get().comment == ""


def test_feedback_is_given_once(as_role, world):
    _attended(world.student, world.session)
    client = as_role("student")
    assert client.post(URL, {"session": world.session.pk, "rating": 5}).status_code == 201
    again = client.post(URL, {"session": world.session.pk, "rating": 1})
    assert (again.status_code, again.json()) == (
        409,
        {"detail": "You have already given feedback on this session.", "code": "already_given"},
    )
    assert Feedback.objects.get().rating == 5


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"rating": 5}, "session"),
        ({"session": "session"}, "rating"),
        ({"session": "session", "rating": 0}, "rating"),
        ({"session": "session", "rating": 6}, "rating"),
        ({"session": "session", "rating": "great"}, "rating"),
        ({"session": "session", "rating": 4.5}, "rating"),
        ({"session": "invisible", "rating": 5}, "session"),
        ({"session": 10**9, "rating": 5}, "session"),
    ],
)
def test_invalid_input_is_400_naming_the_field(as_role, world, payload, field):
    _attended(world.student, world.session)
    closed = SemesterFactory(is_active=False)
    invisible = PastSessionFactory(semester=closed)
    sessions = {"session": world.session.pk, "invisible": invisible.pk}
    payload = {
        name: sessions[value] if name == "session" and isinstance(value, str) else value
        for name, value in payload.items()
    }
    response = as_role("student").post(URL, payload, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not Feedback.objects.exists()


@pytest.mark.parametrize("size", [1, 10, 100])
@pytest.mark.parametrize("role", ["student", "instructor", "staff"])
def test_list_queries_do_not_grow(token_client, django_assert_num_queries, world, role, size):
    for _ in range(size):
        session = PastSessionFactory(semester=world.semester, instructor=world.instructor)
        _attended(world.student, session)
        FeedbackFactory(student=world.student, session=session)
    client = token_client(getattr(world, role))
    # The token with its user, the count, the page (session titles and names joined in).
    with django_assert_num_queries(3):
        response = client.get(URL, {"page_size": 500})
    assert response.json()["count"] == size


@pytest.mark.parametrize("table", [LIST_TABLE, CREATE_TABLE])
def test_every_table_covers_every_role(table):
    assert tuple(table) == ROLES
