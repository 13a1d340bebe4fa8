"""Students using the API at once: list and open sessions, book, cancel, check their credits.

Run by loadtest/run.py, which seeds the students (their API tokens) and the sessions and
passes them in the JSON file named by LOADTEST_DATA. A 409 is an answer the state of the
session allows (already booked, not enough credits, already cancelled): counted as a
success and tallied by code; anything else outside the expected statuses is a failure.
When the run stops, the statistics per endpoint, the failures and those tallies go to
the JSON file named by LOADTEST_RESULTS (for comparison with the server's own counters).
"""

import itertools
import json
import os
import random
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

from locust import HttpUser, between, events, task

DATA = json.loads(Path(os.environ["LOADTEST_DATA"]).read_text())
SESSION_IDS: list[int] = DATA["sessions"]
PAGE_SIZE = 50
PAGES = max(1, -(-len(SESSION_IDS) // PAGE_SIZE))
_tokens = itertools.cycle(DATA["tokens"])
# Users are greenlets of one process, so one tally serves the whole run.
OUTCOMES: Counter[str] = Counter()


def _code(response: Any) -> str:
    try:
        return str(response.json().get("code") or "unknown")
    except ValueError:
        return "unknown"


class Student(HttpUser):
    wait_time = between(0.2, 1.0)

    def on_start(self) -> None:
        self.client.headers.update(
            {"Authorization": f"Token {next(_tokens)}", "Accept": "application/json"}
        )
        self.booking_ids: list[int] = []

    @task(6)
    def list_sessions(self) -> None:
        self.client.get(
            "/api/v1/sessions/",
            params={"page": random.randint(1, PAGES), "page_size": PAGE_SIZE},
            name="GET /api/v1/sessions/",
        )

    @task(3)
    def session_detail(self) -> None:
        self.client.get(
            f"/api/v1/sessions/{random.choice(SESSION_IDS)}/", name="GET /api/v1/sessions/[id]/"
        )

    @task(3)
    def book(self) -> None:
        with self.client.post(
            "/api/v1/bookings/",
            json={"session": random.choice(SESSION_IDS)},
            headers={"Idempotency-Key": str(uuid.uuid4())},
            name="POST /api/v1/bookings/",
            catch_response=True,
        ) as response:
            if response.status_code == 201:
                OUTCOMES[f"booked:{response.json()['status']}"] += 1
                self.booking_ids.append(response.json()["id"])
                response.success()
            elif response.status_code == 409:
                OUTCOMES[f"refused:{_code(response)}"] += 1
                response.success()
            else:
                response.failure(f"HTTP {response.status_code}")

    @task(2)
    def cancel(self) -> None:
        if not self.booking_ids:
            return
        booking_id = self.booking_ids.pop(random.randrange(len(self.booking_ids)))
        with self.client.post(
            f"/api/v1/bookings/{booking_id}/cancel/",
            headers={"Idempotency-Key": str(uuid.uuid4())},
            name="POST /api/v1/bookings/[id]/cancel/",
            catch_response=True,
        ) as response:
            if response.status_code == 200:
                OUTCOMES["cancelled"] += 1
                response.success()
            elif response.status_code == 409:
                OUTCOMES[f"cancel_refused:{_code(response)}"] += 1
                response.success()
            else:
                response.failure(f"HTTP {response.status_code}")

    @task(1)
    def me(self) -> None:
        self.client.get("/api/v1/me/", name="GET /api/v1/me/")


def _summary(entry: Any, name: str) -> dict[str, Any]:
    return {
        "endpoint": name,
        "requests": entry.num_requests,
        "failures": entry.num_failures,
        "rps": round(entry.total_rps, 1),
        **{
            f"p{round(q * 100)}_ms": round(entry.get_response_time_percentile(q) or 0, 1)
            for q in (0.5, 0.95, 0.99)
        },
    }


@events.test_stop.add_listener
def _write_results(environment: Any, **kwargs: Any) -> None:
    # Written here, after every user has stopped: the periodic CSV may lag behind.
    target = os.environ.get("LOADTEST_RESULTS")
    if not target:
        return
    stats = environment.stats
    results = {
        "endpoints": [
            _summary(entry, name)
            for (name, _method), entry in sorted(stats.entries.items())
            if entry.num_requests or entry.num_failures
        ],
        "total": _summary(stats.total, "all endpoints"),
        "failures": [
            {"endpoint": error.name, "error": str(error.error), "count": error.occurrences}
            for error in stats.errors.values()
        ],
        "outcomes": dict(OUTCOMES),
    }
    Path(target).write_text(json.dumps(results, sort_keys=True))
