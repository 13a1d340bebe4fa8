"""Email settings from the environment: `EMAIL_URL`, or `EMAIL_HOST` and its companions.

`EMAIL_URL` forms: `smtp://user:password@host:587?tls=1` (STARTTLS),
`smtps://user:password@host:465` (TLS from the first byte), `file:///path/to/folder`,
`console://`. User and password are percent-decoded. Without either variable, development
(DEBUG) writes each email to a file under `var/mail/`; production uses SMTP on localhost:25,
Django's default, so an unconfigured server fails loudly in the email log, not silently.
"""

from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
FILE_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
CONSOLE_BACKEND = "django.core.mail.backends.console.EmailBackend"
TRUE = {"1", "true", "yes", "on"}


def _from_url(url: str) -> dict[str, Any]:
    parts = urlsplit(url)
    query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    if parts.scheme in {"smtp", "smtps"}:
        try:
            port = parts.port
        except ValueError as error:
            raise ImproperlyConfigured(f"EMAIL_URL has an invalid port: {error}") from None
        if not parts.hostname:
            raise ImproperlyConfigured("EMAIL_URL names no host.")
        ssl = parts.scheme == "smtps"
        return {
            "EMAIL_BACKEND": SMTP_BACKEND,
            "EMAIL_HOST": parts.hostname,
            "EMAIL_PORT": port or (465 if ssl else 25),
            "EMAIL_HOST_USER": unquote(parts.username or ""),
            "EMAIL_HOST_PASSWORD": unquote(parts.password or ""),
            "EMAIL_USE_SSL": ssl,
            "EMAIL_USE_TLS": not ssl and query.get("tls", "").lower() in TRUE,
        }
    if parts.scheme == "file":
        return {"EMAIL_BACKEND": FILE_BACKEND, "EMAIL_FILE_PATH": unquote(parts.path)}
    if parts.scheme == "console":
        return {"EMAIL_BACKEND": CONSOLE_BACKEND}
    raise ImproperlyConfigured(
        f"EMAIL_URL scheme {parts.scheme!r} is not one of smtp, smtps, file, console."
    )


def email_settings(env: Mapping[str, str], *, debug: bool, base_dir: Path) -> dict[str, Any]:
    """The EMAIL_* settings and DEFAULT_FROM_EMAIL for this environment."""
    result: dict[str, Any] = {
        "DEFAULT_FROM_EMAIL": env.get("DEFAULT_FROM_EMAIL", "Practica <noreply@localhost>"),
        # Seconds an SMTP connection may block a worker (Django's default is forever).
        "EMAIL_TIMEOUT": int(env.get("EMAIL_TIMEOUT", "10")),
    }
    result["SERVER_EMAIL"] = result["DEFAULT_FROM_EMAIL"]
    if env.get("EMAIL_URL"):
        result.update(_from_url(env["EMAIL_URL"]))
    elif env.get("EMAIL_HOST"):
        result.update(
            {
                "EMAIL_BACKEND": SMTP_BACKEND,
                "EMAIL_HOST": env["EMAIL_HOST"],
                "EMAIL_PORT": int(env.get("EMAIL_PORT", "25")),
                "EMAIL_HOST_USER": env.get("EMAIL_HOST_USER", ""),
                "EMAIL_HOST_PASSWORD": env.get("EMAIL_HOST_PASSWORD", ""),
                "EMAIL_USE_TLS": env.get("EMAIL_USE_TLS", "").lower() in TRUE,
                "EMAIL_USE_SSL": env.get("EMAIL_USE_SSL", "").lower() in TRUE,
            }
        )
    elif debug:
        result.update(
            {"EMAIL_BACKEND": FILE_BACKEND, "EMAIL_FILE_PATH": str(base_dir / "var" / "mail")}
        )
    return result
