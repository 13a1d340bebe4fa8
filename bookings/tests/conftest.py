"""Fixtures of the booking engine's tests: funded students and a thread race harness."""

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.db import OperationalError, connection

from accounts.models import User
from accounts.tests.factories import StaffFactory, StudentFactory
from bookings.services import grant_credits


@pytest.fixture
def staff() -> User:
    return StaffFactory()


@pytest.fixture
def funded_student(staff: User) -> Callable[..., User]:
    """A student holding `credits` through a real grant, so the ledger reconciles."""

    def build(credits: int = 10, **fields: Any) -> User:
        student = StudentFactory(**fields)
        if credits:
            grant_credits(student=student, amount=credits, note="Test credits", by=staff)
            student.refresh_from_db(fields=["credit_balance"])
        return student

    return build


@dataclass
class RaceResult:
    """What each thread returned or raised, by the index of its callable."""

    results: dict[int, Any] = field(default_factory=dict)
    errors: dict[int, BaseException] = field(default_factory=dict)
    seconds: float = 0.0

    def errors_of(self, kind: type[BaseException]) -> list[BaseException]:
        return [error for error in self.errors.values() if isinstance(error, kind)]

    def unexpected(self, *expected: type[BaseException]) -> list[BaseException]:
        return [error for error in self.errors.values() if not isinstance(error, expected)]


def connect_patiently(seconds: float = 20) -> None:
    """Connect before the start line: the race measures the work, not the handshakes.

    The PostgreSQL server is shared (max_connections); a refused handshake is
    retried for a while, the work itself never is.
    """
    deadline = time.monotonic() + seconds
    while True:
        try:
            connection.ensure_connection()
            return
        except OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def run_together(calls: list[Callable[[], Any]], *, timeout: float = 60) -> RaceResult:
    """Run every call in its own thread (own database connection), released at once.

    Nothing a thread raises is lost: it is collected by index. Each thread closes
    its connection, so the test database can be flushed and dropped afterwards.
    """
    barrier = threading.Barrier(len(calls) + 1)
    outcome = RaceResult()
    lock = threading.Lock()

    def worker(index: int, call: Callable[[], Any]) -> None:
        try:
            connect_patiently()
            barrier.wait(timeout=timeout)
            result = call()
            with lock:
                outcome.results[index] = result
        except BaseException as error:  # every failure is reported, none lost
            with lock:
                outcome.errors[index] = error
        finally:
            connection.close()

    threads = [
        threading.Thread(target=worker, args=(index, call), daemon=True)
        for index, call in enumerate(calls)
    ]
    for thread in threads:
        thread.start()
    barrier.wait(timeout=timeout)
    started = time.perf_counter()
    for thread in threads:
        thread.join(timeout=timeout)
    outcome.seconds = time.perf_counter() - started
    hung = [thread for thread in threads if thread.is_alive()]
    assert not hung, f"{len(hung)} thread(s) still running after {timeout}s"
    return outcome


@pytest.fixture
def race() -> Callable[..., RaceResult]:
    return run_together
