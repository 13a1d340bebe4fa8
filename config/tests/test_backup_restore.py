"""The backup drill: demo data dumped by ops/backup.sh, restored by ops/restore.sh into a
new empty database, which then passes check_integrity with the same rows.

PostgreSQL only (pg_dump and pg_restore are PostgreSQL's tools): on the SQLite pass it
is skipped with that reason, and it runs in the PostgreSQL pass. It works in databases
it creates and drops itself (ops/scratch_db.py), never in the suite's own.
"""

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from ops import scratch_db

ROOT = Path(__file__).resolve().parents[2]
BASE_URL = os.environ.get("DATABASE_URL", "")

postgresql_only = pytest.mark.skipif(
    not scratch_db.is_postgresql(BASE_URL),
    reason="backups use pg_dump/pg_restore: PostgreSQL only; runs in the PostgreSQL CI pass",
)


def _env(database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DATABASE_URL=database_url,
        SECRET_KEY="backup-drill-key-not-for-any-deployment",
        DEBUG="0",
    )
    return env


def _run(command: list[str], database_url: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        command, cwd=ROOT, env=_env(database_url), capture_output=True, text=True, timeout=300
    )


def _manage(database_url: str, *args: str) -> subprocess.CompletedProcess:
    return _run([sys.executable, "manage.py", *args], database_url)


def _row_counts(database_url: str) -> dict[str, int]:
    with psycopg.connect(database_url) as connection:
        tables = [
            name
            for (name,) in connection.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
            )
        ]
        return {
            table: connection.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
            for table in tables
        }


@pytest.fixture
def scratch() -> Iterator[list[scratch_db.ScratchDatabase]]:
    created: list[scratch_db.ScratchDatabase] = []
    yield created
    for database in created:
        database.drop()


def _new_database(scratch: list) -> str:
    database = scratch_db.create(BASE_URL, "practica_backup")
    scratch.append(database)
    return database.url


@postgresql_only
def test_a_backup_restores_into_an_empty_database_with_every_row(scratch, tmp_path):
    source = _new_database(scratch)
    for step in (("migrate", "--noinput"), ("seed_demo",)):
        result = _manage(source, *step)
        assert result.returncode == 0, result.stderr[-3000:]
    dump = tmp_path / "practica.dump"

    backup = _run(["ops/backup.sh", str(dump)], source)
    assert backup.returncode == 0, backup.stderr
    assert backup.stdout.strip() == str(dump)
    assert not Path(f"{dump}.partial").exists()

    target = _new_database(scratch)
    restore = _run(["ops/restore.sh", str(dump)], target)
    assert restore.returncode == 0, restore.stderr

    integrity = _manage(target, "check_integrity")
    assert integrity.returncode == 0, integrity.stdout + integrity.stderr
    assert "no findings" in integrity.stdout
    migrations = _manage(target, "migrate", "--check")
    assert migrations.returncode == 0, migrations.stdout + migrations.stderr
    counts = _row_counts(target)
    assert counts == _row_counts(source)
    # The demo data reached every table that matters, so "equal" compares real rows.
    for table in ("accounts_user", "scheduling_session", "bookings_booking"):
        assert counts[table] > 0, table
    assert counts["bookings_credittransaction"] > 0


@postgresql_only
def test_restore_refuses_a_database_that_holds_tables(scratch, tmp_path):
    source = _new_database(scratch)
    assert _manage(source, "migrate", "--noinput").returncode == 0
    dump = tmp_path / "practica.dump"
    assert _run(["ops/backup.sh", str(dump)], source).returncode == 0
    before = _row_counts(source)

    restore = _run(["ops/restore.sh", str(dump)], source)

    assert restore.returncode == 3
    assert "not empty" in restore.stderr
    assert _row_counts(source) == before


@postgresql_only
def test_a_dump_is_readable_by_its_owner_only_whatever_the_umask(scratch, tmp_path):
    """It holds password hashes and API tokens."""
    source = _new_database(scratch)
    dump = tmp_path / "practica.dump"
    # An older dump under that name, world-readable: replaced, not reused with its mode.
    dump.write_bytes(b"old")
    dump.chmod(0o644)

    backup = _run(["bash", "-c", 'umask 000 && exec ops/backup.sh "$0"', str(dump)], source)

    assert backup.returncode == 0, backup.stderr
    assert stat.S_IMODE(dump.stat().st_mode) == 0o600


def test_backup_refuses_a_database_url_that_is_not_postgresql(tmp_path):
    dump = tmp_path / "practica.dump"
    result = _run(["ops/backup.sh", str(dump)], f"sqlite:///{tmp_path / 'db.sqlite3'}")
    assert result.returncode == 2
    assert not dump.exists()
