"""The registration rush: every student presses Book at once, then stops.

Run by `loadtest/run.py --scenario rush`, which seeds the students and sessions and names
the JSON file of tokens and wishes in LOADTEST_DATA (see loadtest/rush.py). Each locust
user is one student: it books each session it wishes for, in order, once, and stops. A 503
with `Retry-After` is retried after the seconds it names, with the same `Idempotency-Key`;
any other answer is final. Every booking's attempts and answer, with the wall-clock times
of the answered attempt, go to the JSON file named by LOADTEST_RESULTS when the run stops.
"""

import itertools
import json
import os
import time
import uuid
from pathlib import Path
from typing import Any

import gevent
from locust import HttpUser, constant, events, task
from locust.exception import StopUser

DATA = json.loads(Path(os.environ["LOADTEST_DATA"]).read_text())
_students = itertools.count()
# Users are greenlets of one process: one list serves the whole run.
RECORDS: list[dict[str, Any]] = []
FINISHED_USERS = itertools.count(1)


class RushStudent(HttpUser):
    wait_time = constant(0)

    def on_start(self) -> None:
        self.student = next(_students)
        self.client.headers.update(
            {"Authorization": f"Token {DATA['tokens'][self.student]}", "Accept": "application/json"}
        )

    def book(self, session_id: int) -> dict[str, Any]:
        key = str(uuid.uuid4())
        record: dict[str, Any] = {
            "student": self.student,
            "session": session_id,
            "first_start": time.time(),
            "attempts": 0,
            "busy": 0,
        }
        while True:
            record["attempts"] += 1
            record["start"] = time.time()
            with self.client.post(
                "/api/v1/bookings/",
                json={"session": session_id},
                headers={"Idempotency-Key": key},
                name="POST /api/v1/bookings/",
                catch_response=True,
            ) as response:
                record["end"] = time.time()
                retry_after = response.headers.get("Retry-After")
                if response.status_code == 503 and retry_after:
                    # An answer the rush allows: the client waits as told and tries again.
                    record["busy"] += 1
                    response.success()
                    gevent.sleep(float(retry_after))
                    continue
                record["status"] = response.status_code
                if response.status_code == 201:
                    body = response.json()
                    record.update(
                        booking=body["id"],
                        outcome=body["status"],
                        waitlist_position=body.get("waitlist_position"),
                    )
                    response.success()
                else:
                    response.failure(f"HTTP {response.status_code}")
                return record

    @task
    def rush(self) -> None:
        for session_id in DATA["wishes"][self.student]:
            RECORDS.append(self.book(session_id))
        # The connection is not kept alive for nobody: gthread counts it as a client.
        self.client.close()
        if next(FINISHED_USERS) == len(DATA["wishes"]):
            # The last student is done: end the run now rather than at --run-time.
            gevent.spawn_later(0.1, self.environment.runner.quit)
        raise StopUser()


def _summary(entry: Any) -> dict[str, Any]:
    return {
        "requests": entry.num_requests,
        "failures": entry.num_failures,
        **{
            f"p{round(q * 100)}_ms": round(entry.get_response_time_percentile(q) or 0, 1)
            for q in (0.5, 0.95, 0.99)
        },
    }


@events.test_stop.add_listener
def _write_results(environment: Any, **kwargs: Any) -> None:
    target = os.environ.get("LOADTEST_RESULTS")
    if not target:
        return
    stats = environment.stats
    results = {
        "requests": _summary(stats.total),
        "failures": [
            {"endpoint": error.name, "error": str(error.error), "count": error.occurrences}
            for error in stats.errors.values()
        ],
        "records": RECORDS,
    }
    Path(target).write_text(json.dumps(results))
