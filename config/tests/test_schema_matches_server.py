"""Where the OpenAPI schema and the server could disagree about what a request needs."""

import pytest

from bookings.tests.factories import BookingFactory
from config.tests.openapi_contract import openapi_document
from engagement.tests.factories import AttendanceFactory
from scheduling.tests.factories import PastSessionFactory, SemesterFactory, SessionFactory

pytestmark = pytest.mark.django_db


def _request_schema(path: str, method: str) -> tuple[bool, dict]:
    document = openapi_document()
    body = document["paths"][path][method]["requestBody"]
    reference = body["content"]["application/json"]["schema"]["$ref"]
    return body.get("required", False), document["components"]["schemas"][
        reference.rsplit("/", 1)[1]
    ]


def test_the_attendance_patch_documents_status_as_required():
    required, schema = _request_schema("/api/v1/attendance/{id}/", "patch")

    assert required
    assert schema["required"] == ["status"]


def test_the_attendance_patch_requires_status(token_client):
    session = PastSessionFactory()
    attendance = AttendanceFactory(session=session, student=BookingFactory(session=session).student)
    client = token_client(session.semester.master_instructor)

    response = client.patch(f"/api/v1/attendance/{attendance.pk}/", {}, format="json")

    assert response.status_code == 400
    assert list(response.json()) == ["status"]


def test_a_patch_that_validates_partially_stays_documented_as_partial():
    required, schema = _request_schema("/api/v1/sessions/{id}/", "patch")

    assert not required
    assert "required" not in schema


@pytest.mark.parametrize("link", ["nope", "ftp://example.com/room", "http://"])
def test_an_invalid_meeting_link_is_reported_once(token_client, link):
    session = SessionFactory(semester=SemesterFactory())
    client = token_client(session.semester.master_instructor)

    response = client.patch(
        f"/api/v1/sessions/{session.pk}/",
        {"session_type": "virtual", "meeting_link": link},
        format="json",
    )

    assert response.status_code == 400
    assert response.json() == {"meeting_link": ["Enter a valid URL."]}
