"""Every declared error code is listed in the API schema and in the README; each app
declares its own (config.errors.error_code) and the database constraints map to them."""

import re
from pathlib import Path

import pytest

from config.errors import CONSTRAINT_CODES, ERROR_CODES

README = Path(__file__).resolve().parents[2] / "README.md"

pytestmark = pytest.mark.django_db


def readme_codes() -> set[str]:
    return set(re.findall(r"^\| `([a-z_]+)` \|", README.read_text(), flags=re.MULTILINE))


def test_the_readme_lists_every_declared_code_and_no_other():
    assert readme_codes() == set(ERROR_CODES)


def test_the_schema_lists_every_declared_code(api_client):
    schema = api_client.get("/api/schema/?format=json").json()
    for component in ("Error", "ProtectedError"):
        description = schema["components"]["schemas"][component]["properties"]["code"][
            "description"
        ]
        assert set(re.findall(r"`([a-z_]+)`", description)) == set(ERROR_CODES)


def test_the_codes_the_spec_names_are_declared():
    spec_codes = {
        "already_booked", "session_full", "session_started", "session_cancelled",
        "not_eligible", "insufficient_credits", "capacity_below_confirmed", "protected",
        "session_deleted", "already_cancelled", "not_booked", "not_attended",
        "already_given", "session_not_started", "idempotency_in_flight",
        "idempotency_key_reused",
    }  # fmt: skip
    assert spec_codes <= set(ERROR_CODES)


def test_every_constraint_code_is_a_declared_code():
    assert CONSTRAINT_CODES
    assert set(CONSTRAINT_CODES.values()) <= set(ERROR_CODES)


def test_a_code_declared_twice_with_another_meaning_is_refused():
    from config.errors import error_code

    with pytest.raises(ValueError, match="declared twice"):
        error_code("already_booked", "something else")
