"""HSTS's includeSubDomains and preload are the domain owner's decision: settings, off by
default, and `check --deploy` stays clean either way."""

import pytest

from config.tests.production_settings import production_setting

pytestmark = pytest.mark.django_db


def test_hsts_covers_this_host_only_by_default():
    assert production_setting("SECURE_HSTS_INCLUDE_SUBDOMAINS") is False
    assert production_setting("SECURE_HSTS_PRELOAD") is False
    assert production_setting("SECURE_HSTS_SECONDS") == 31536000


def test_hsts_subdomains_and_preload_are_settings():
    env = {"SECURE_HSTS_INCLUDE_SUBDOMAINS": "1", "SECURE_HSTS_PRELOAD": "true"}
    assert production_setting("SECURE_HSTS_INCLUDE_SUBDOMAINS", **env) is True
    assert production_setting("SECURE_HSTS_PRELOAD", **env) is True
    # Nothing silenced once they are on: check --deploy judges them again.
    assert production_setting("SILENCED_SYSTEM_CHECKS", **env) == []


@pytest.mark.parametrize(
    ("subdomains", "preload", "header"),
    [
        (False, False, "max-age=31536000"),
        (True, False, "max-age=31536000; includeSubDomains"),
        (True, True, "max-age=31536000; includeSubDomains; preload"),
    ],
)
def test_the_header_says_what_the_settings_say(client, settings, subdomains, preload, header):
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = subdomains
    settings.SECURE_HSTS_PRELOAD = preload
    response = client.get("/healthz", secure=True)
    assert response["Strict-Transport-Security"] == header
