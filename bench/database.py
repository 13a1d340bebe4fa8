"""The benchmark's own database: created by it, marked as such, and the only one it drops."""

import os
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

MARK = "practica-bench: created by bench/run.py, safe to drop"


@dataclass
class BenchDatabase:
    url: str
    vendor: str
    name: str

    def drop(self) -> None:
        if self.vendor == "sqlite":
            Path(self.name).unlink(missing_ok=True)
            return
        import psycopg

        with psycopg.connect(_admin_url(self.url), autocommit=True) as admin:
            comment = admin.execute(
                "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
                [self.name],
            ).fetchone()
            if not comment or comment[0] != MARK:
                raise RuntimeError(
                    f"Refusing to drop {self.name!r}: the benchmark did not create it."
                )
            admin.execute(f'DROP DATABASE "{self.name}" WITH (FORCE)')


def _admin_url(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/postgres", scheme="postgresql"))


def create(base_url: str | None) -> BenchDatabase:
    """A new, empty database next to `base_url` (PostgreSQL), or a temporary SQLite file."""
    if not base_url or base_url.startswith("sqlite"):
        handle, path = tempfile.mkstemp(prefix="practica-bench-", suffix=".sqlite3")
        os.close(handle)
        return BenchDatabase(url=f"sqlite:///{path}", vendor="sqlite", name=path)
    import psycopg

    name = f"practica_bench_{secrets.token_hex(4)}"
    with psycopg.connect(_admin_url(base_url), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        admin.execute(f"COMMENT ON DATABASE \"{name}\" IS '{MARK}'")
    parts = urlsplit(base_url)
    return BenchDatabase(
        url=urlunsplit(parts._replace(path=f"/{name}")), vendor="postgresql", name=name
    )
