"""EMAIL_URL and EMAIL_HOST from the environment (config/email.py)."""

from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.email import FILE_BACKEND, SMTP_BACKEND, email_settings

BASE = Path("/srv/practica")


def settings_for(debug: bool = False, **env: str) -> dict:
    return email_settings(env, debug=debug, base_dir=BASE)


def test_an_smtp_url_with_starttls_and_an_encoded_password():
    result = settings_for(EMAIL_URL="smtp://mailer:p%40ss%2Fw@smtp.example.test:587?tls=1")

    assert result["EMAIL_BACKEND"] == SMTP_BACKEND
    assert (result["EMAIL_HOST"], result["EMAIL_PORT"]) == ("smtp.example.test", 587)
    assert (result["EMAIL_HOST_USER"], result["EMAIL_HOST_PASSWORD"]) == ("mailer", "p@ss/w")
    assert (result["EMAIL_USE_TLS"], result["EMAIL_USE_SSL"]) == (True, False)


def test_smtps_means_tls_from_the_first_byte_on_465():
    result = settings_for(EMAIL_URL="smtps://relay.example.test")

    assert (result["EMAIL_PORT"], result["EMAIL_USE_SSL"], result["EMAIL_USE_TLS"]) == (
        465,
        True,
        False,
    )


def test_email_host_and_friends_without_a_url():
    result = settings_for(EMAIL_HOST="relay", EMAIL_PORT="2525", EMAIL_USE_TLS="1")

    assert (result["EMAIL_HOST"], result["EMAIL_PORT"], result["EMAIL_USE_TLS"]) == (
        "relay",
        2525,
        True,
    )


def test_development_writes_files_under_var_mail_and_production_keeps_smtp():
    assert settings_for(debug=True)["EMAIL_BACKEND"] == FILE_BACKEND
    assert settings_for(debug=True)["EMAIL_FILE_PATH"] == str(BASE / "var" / "mail")
    assert "EMAIL_BACKEND" not in settings_for(debug=False)  # Django's SMTP default


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://host", "scheme 'ftp'"),
        ("smtp://", "names no host"),
        ("smtp://host:notaport", "invalid port"),
    ],
)
def test_a_bad_email_url_is_named_at_start_up(url, message):
    with pytest.raises(ImproperlyConfigured, match=message):
        settings_for(EMAIL_URL=url)
