"""The OpenAPI schema: valid, warning-free, served with an offline Swagger UI, and enforced
on every test response by the conftest clients (config.tests.openapi_contract)."""

import re

import pytest
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.http import JsonResponse

from config.tests.openapi_contract import SchemaMismatch, check_response, openapi_document

pytestmark = pytest.mark.django_db

SPEC_PATHS = [
    "/api/v1/auth/token/",
    "/api/v1/me/",
    "/api/v1/specializations/",
    "/api/v1/semesters/",
    "/api/v1/semesters/{id}/",
    "/api/v1/groups/",
    "/api/v1/sessions/",
    "/api/v1/sessions/{id}/",
    "/api/v1/sessions/{id}/cancel/",
    "/api/v1/sessions/{id}/bookings/",
]


def test_the_schema_validates_without_warnings(tmp_path):
    # Raises (CommandError) on any generator warning or an invalid OpenAPI document.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "s.yml"))
    assert (tmp_path / "s.yml").read_text().startswith("openapi: 3")


def test_the_schema_is_served_and_documents_the_endpoints(api_client):
    response = api_client.get("/api/schema/?format=json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in SPEC_PATHS:
        assert path in paths


@pytest.mark.parametrize(
    ("path", "method", "codes"),
    [
        ("/api/v1/sessions/", "get", {"200", "400", "401", "404"}),
        ("/api/v1/sessions/", "post", {"201", "400", "401", "403", "503"}),
        ("/api/v1/sessions/{id}/", "patch", {"200", "400", "401", "403", "404", "409", "503"}),
        ("/api/v1/sessions/{id}/", "delete", {"204", "401", "403", "404", "409", "503"}),
        ("/api/v1/sessions/{id}/cancel/", "post", {"200", "401", "403", "404", "409", "503"}),
        ("/api/v1/sessions/{id}/bookings/", "get", {"200", "401", "403", "404"}),
        ("/api/v1/semesters/{id}/", "delete", {"204", "401", "403", "404", "409"}),
        ("/api/v1/auth/token/", "post", {"200", "400"}),
    ],
)
def test_error_answers_are_documented_with_their_bodies(path, method, codes):
    responses = openapi_document()["paths"][path][method]["responses"]
    assert codes <= set(responses)
    for code in codes - {"204"}:
        assert "application/json" in responses[code]["content"]


def test_a_refused_delete_documents_the_blocking_counts():
    responses = openapi_document()["paths"]["/api/v1/sessions/{id}/"]["delete"]["responses"]
    ref = responses["409"]["content"]["application/json"]["schema"]["$ref"]
    component = openapi_document()["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert set(component["required"]) >= {"detail", "code", "blocking"}


def test_the_token_endpoint_needs_no_credentials():
    operation = openapi_document()["paths"]["/api/v1/auth/token/"]["post"]
    assert "401" not in operation["responses"]
    assert not operation.get("security")


def test_swagger_ui_is_served_from_local_static_files(api_client):
    response = api_client.get("/api/docs/")

    assert response.status_code == 200
    html = response.content.decode()
    # The init script, which names the schema, is a URL of ours (no inline script: CSP).
    assert '<script src="/api/docs/?script="></script>' in html
    assert b"/api/schema/" in api_client.get("/api/docs/?script=").content
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert assets
    for asset in assets:
        assert not asset.startswith(("http://", "https://", "//")), asset
    scripts = [a for a in assets if a.endswith(".js")]
    assert any("swagger-ui" in script for script in scripts)
    for script in scripts:
        assert finders.find(script.removeprefix("/static/").split("?")[0]), script


def _fake(status: int, body: object, method: str = "GET", path: str = "/api/v1/me/"):
    response = JsonResponse(body, status=status, safe=False)
    response.request = {"REQUEST_METHOD": method, "PATH_INFO": path}
    return response


ME = {
    "id": 1,
    "username": "a",
    "role": "student",
    "specialization": None,
    "credit_balance": 0,
    "notify_reminders": True,
    "notify_waitlist_changes": True,
    "notify_credit_grants": True,
    "calendar_url": "webcal://example.test/calendar/k.ics",
}


def test_the_contract_accepts_a_documented_response():
    check_response(_fake(200, ME))
    check_response(_fake(401, {"detail": "Authentication credentials were not provided."}))


@pytest.mark.parametrize(
    ("response", "message"),
    [
        (_fake(418, ME), "answered 418, which the schema does not document"),
        (_fake(200, {**ME, "id": "one"}), "at ['id']: 'one' is not of type 'integer'"),
        (_fake(200, {**ME, "secret": 1}), "Additional properties are not allowed"),
        (_fake(200, {k: v for k, v in ME.items() if k != "role"}), "'role' is a required"),
        (_fake(200, {**ME, "role": "wizard"}), "at ['role']"),
        (_fake(200, ME, method="DELETE"), "documents no DELETE on /api/v1/me/"),
        (_fake(200, ME, path="/api/v1/nowhere/"), "no path of the schema matches it"),
        (
            _fake(409, {"detail": "x", "code": "protected"}, "DELETE", "/api/v1/sessions/1/"),
            "'blocking' is a required property",
        ),
        (_fake(404, {"detail": 5}, "GET", "/api/v1/sessions/1/"), "at ['detail']"),
    ],
)
def test_the_contract_names_what_strays_from_the_schema(response, message):
    with pytest.raises(SchemaMismatch) as mismatch:
        check_response(response)
    assert message in str(mismatch.value)
    assert "/api/v1/" in str(mismatch.value)


def test_paths_outside_the_api_are_not_checked():
    check_response(_fake(200, {"anything": True}, path="/healthz"))
