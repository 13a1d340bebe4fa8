"""Throwaway databases for the load test and the backup drill: created here, marked as
such, and the only databases these tools ever drop."""

import os
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

MARK = "practica-scratch: created by ops/scratch_db.py, safe to drop"


@dataclass
class ScratchDatabase:
    url: str
    vendor: str
    name: str

    def drop(self) -> None:
        if self.vendor == "sqlite":
            Path(self.name).unlink(missing_ok=True)
            return
        import psycopg

        with psycopg.connect(admin_url(self.url), autocommit=True) as admin:
            comment = admin.execute(
                "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
                [self.name],
            ).fetchone()
            if not comment or comment[0] != MARK:
                raise RuntimeError(f"Refusing to drop {self.name!r}: it was not created here.")
            admin.execute(f'DROP DATABASE "{self.name}" WITH (FORCE)')


def admin_url(url: str) -> str:
    """The maintenance database next to `url`, for CREATE and DROP DATABASE."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/postgres", scheme="postgresql"))


def is_postgresql(url: str | None) -> bool:
    return bool(url) and urlsplit(url).scheme in {"postgres", "postgresql", "pgsql"}


def create(base_url: str | None, prefix: str) -> ScratchDatabase:
    """A new, empty database beside `base_url` (PostgreSQL), else a temporary SQLite file."""
    if not is_postgresql(base_url):
        handle, path = tempfile.mkstemp(prefix=f"{prefix}-", suffix=".sqlite3")
        os.close(handle)
        return ScratchDatabase(url=f"sqlite:///{path}", vendor="sqlite", name=path)
    import psycopg

    name = f"{prefix}_{secrets.token_hex(4)}"
    with psycopg.connect(admin_url(base_url), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        admin.execute(f"COMMENT ON DATABASE \"{name}\" IS '{MARK}'")
    parts = urlsplit(base_url)
    return ScratchDatabase(
        url=urlunsplit(parts._replace(path=f"/{name}", query="")),
        vendor="postgresql",
        name=name,
    )
