"""The registration rush (`loadtest/run.py --scenario rush`): who wants what, and what the
run must show afterwards.

- `wishes()`: each student wants one of the popular sessions (`demand` students each,
  while students last) and one of the others (spread round-robin), in that order, so that
  every seat of every session has takers and the popular ones have a long waitlist.
- `summarize()`: bookings per second, latency percentiles, the 503s with Retry-After and
  any other 5xx, from the client's records (loadtest/rush_locustfile.py).
- `check()` (with Django): every seat filled exactly once, the database agreeing with every
  answer the clients got, and each session's bookings in arrival order: a request answered
  before another one started is ahead of it. Run as `python -m loadtest.rush DATA RESULTS`.
- `lock_quantiles()`: p50/p99 of how long session locks were held, from /metrics.
"""

from __future__ import annotations

import bisect
import json
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any


def wishes(students: int, session_ids: list[int], popular: int, demand: int) -> list[list[int]]:
    hot, spread = session_ids[:popular], session_ids[popular:]
    wanted: list[list[int]] = []
    for student in range(students):
        mine = [hot[student % popular]] if hot and student < popular * demand else []
        if spread:
            mine.append(spread[student % len(spread)])
        wanted.append(mine)
    return wanted


def _percentile(ordered: list[float], fraction: float) -> float:
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def summarize(records: list[dict[str, Any]]) -> dict[str, Any]:
    """What the clients saw. Latency is per booking: from its first attempt to its answer,
    the Retry-After waits included."""
    answered = [r for r in records if r.get("status") == 201]
    latencies = sorted(1000 * (r["end"] - r["first_start"]) for r in records)
    began = min((r["first_start"] for r in records), default=0.0)
    ended = max((r["end"] for r in records), default=0.0)
    seconds = max(ended - began, 1e-9)
    first_sent: dict[int, float] = {}
    for r in records:
        first_sent[r["student"]] = min(r["first_start"], first_sent.get(r["student"], ended))
    return {
        "bookings": len(records),
        "booked": len(answered),
        "confirmed": sum(r.get("outcome") == "confirmed" for r in answered),
        "waitlisted": sum(r.get("outcome") == "waitlisted" for r in answered),
        "seconds": round(seconds, 2),
        "bookings_per_second": round(len(answered) / seconds, 1),
        # Everyone is meant to start within a second: when each student sent its first request.
        "all_students_started_within_s": round(max(first_sent.values(), default=began) - began, 2),
        "p50_ms": round(_percentile(latencies, 0.50), 1),
        "p95_ms": round(_percentile(latencies, 0.95), 1),
        "p99_ms": round(_percentile(latencies, 0.99), 1),
        "max_ms": round(latencies[-1], 1) if latencies else 0.0,
        "busy_503_with_retry_after": sum(r["busy"] for r in records),
        "bookings_retried": sum(r["busy"] > 0 for r in records),
        "other_5xx": sum(r.get("status", 0) >= 500 for r in records),
        "other_statuses": sorted({r.get("status") for r in records} - {201}),
    }


def lock_quantiles(buckets: dict[float, float], quantiles: tuple[float, ...]) -> dict[str, float]:
    """Quantiles (ms) of a Prometheus histogram from its cumulative buckets {le: count},
    interpolated linearly within the bucket, as PromQL's histogram_quantile() does."""
    bounds = sorted(buckets)
    total = buckets[bounds[-1]] if bounds else 0
    figures = {}
    for quantile in quantiles:
        label = f"p{round(quantile * 100)}_ms"
        if not total:
            figures[label] = 0.0
            continue
        rank = quantile * total
        index = bisect.bisect_left([buckets[b] for b in bounds], rank)
        upper = bounds[index]
        lower = bounds[index - 1] if index else 0.0
        below = buckets[lower] if index else 0.0
        inside = buckets[upper] - below
        if upper == float("inf"):
            figures[label] = round(1000 * lower, 2)
            continue
        share = (rank - below) / inside if inside else 1.0
        figures[label] = round(1000 * (lower + (upper - lower) * share), 2)
    figures["count"] = int(total)
    return figures


def check(data: dict[str, Any], records: list[dict[str, Any]]) -> dict[str, Any]:
    """Against the database, after the run. Every list in the result must be empty."""
    from bookings.models import Booking
    from scheduling.models import Session

    session_ids = data["sessions"]
    capacity = dict(Session.objects.filter(pk__in=session_ids).values_list("pk", "capacity"))
    demand: dict[int, int] = defaultdict(int)
    for wanted in data["wishes"]:
        for session_id in wanted:
            demand[session_id] += 1
    rows = list(
        Booking.objects.filter(session_id__in=session_ids)
        .order_by("session_id", "created_at", "id")
        .values("id", "session_id", "student_id", "status", "created_at")
    )
    by_session: dict[int, list[dict]] = defaultdict(list)
    for row in rows:
        by_session[row["session_id"]].append(row)
    answers = {r["booking"]: r for r in records if r.get("status") == 201}

    seats_wrong = [
        {"session": pk, "confirmed": confirmed, "expected": expected}
        for pk in session_ids
        if (confirmed := sum(r["status"] == "confirmed" for r in by_session[pk]))
        != (expected := min(capacity[pk], demand[pk]))
    ]
    held_twice = [
        pair
        for pair, count in _count((r["session_id"], r["student_id"]) for r in rows).items()
        if count > 1
    ]
    unanswered_rows = [r["id"] for r in rows if r["id"] not in answers]
    answers_without_row = sorted(set(answers) - {r["id"] for r in rows})
    status_differs = [
        r["id"] for r in rows if r["id"] in answers and answers[r["id"]]["outcome"] != r["status"]
    ]
    out_of_order = []  # created (waitlist) order differs from the order of insertion
    confirmed_after_waitlisted = []
    position_differs = []
    arrival_violations = []
    reordered_concurrent = 0
    for pk, bookings in by_session.items():
        ids = [b["id"] for b in bookings]
        if ids != sorted(ids):
            out_of_order.append(pk)
        statuses = [b["status"] for b in bookings]
        if "waitlisted" in statuses and "confirmed" in statuses[statuses.index("waitlisted") :]:
            confirmed_after_waitlisted.append(pk)
        waitlist = [b["id"] for b in bookings if b["status"] == "waitlisted"]
        for place, booking_id in enumerate(waitlist, start=1):
            answer = answers.get(booking_id)
            if answer and answer["waitlist_position"] != place:
                position_differs.append(booking_id)
        violations, reordered = _arrival_order([answers[i] for i in ids if i in answers])
        arrival_violations += violations
        reordered_concurrent += reordered
    return {
        "sessions_with_wrong_seat_count": seats_wrong,
        "students_holding_twice": held_twice,
        "bookings_no_client_was_told_of": unanswered_rows,
        "answers_without_a_booking": answers_without_row,
        "status_differs_from_answer": status_differs,
        "sessions_not_in_insertion_order": out_of_order,
        "sessions_confirming_after_waitlisting": confirmed_after_waitlisted,
        "waitlist_positions_that_moved": position_differs,
        "arrival_order_violations": arrival_violations,
        # Requests in flight together may be served in either order: counted, not wrong.
        "concurrent_requests_served_out_of_start_order": reordered_concurrent,
        "seats": sum(min(capacity[pk], demand[pk]) for pk in session_ids),
    }


def _count(items: Any) -> dict[Any, int]:
    counts: dict[Any, int] = defaultdict(int)
    for item in items:
        counts[item] += 1
    return counts


def _arrival_order(in_booking_order: list[dict[str, Any]]) -> tuple[list[int], int]:
    """Bookings of one session in the order the server made them. A violation: a booking
    made after another whose request had not even started when this one was answered."""
    violations = []
    for later_index, later in enumerate(in_booking_order):
        for earlier in in_booking_order[:later_index]:
            if later["end"] < earlier["start"]:
                violations.append(later["booking"])
                break
    reordered = sum(
        later["start"] < earlier["start"]
        for later_index, later in enumerate(in_booking_order)
        for earlier in in_booking_order[:later_index]
    )
    return violations, reordered


def is_clean(checks: dict[str, Any]) -> bool:
    return all(not value for key, value in checks.items() if isinstance(value, list))


def plot(records: list[dict[str, Any]], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    began = min(r["first_start"] for r in records)
    figure, (timeline, cdf) = plt.subplots(1, 2, figsize=(11, 4.5))
    kinds = [
        ("confirmed", lambda r: r.get("outcome") == "confirmed" and not r["busy"], "tab:green"),
        ("waitlisted", lambda r: r.get("outcome") == "waitlisted" and not r["busy"], "tab:blue"),
        ("retried after 503", lambda r: r["busy"] > 0, "tab:orange"),
        ("other", lambda r: r.get("status") != 201, "tab:red"),
    ]
    for label, wanted, colour in kinds:
        chosen = [r for r in records if wanted(r)]
        if chosen:
            timeline.scatter(
                [r["first_start"] - began for r in chosen],
                [1000 * (r["end"] - r["first_start"]) for r in chosen],
                s=4,
                c=colour,
                label=f"{label} ({len(chosen)})",
            )
    timeline.set(
        xlabel="request sent (s after the first)",
        ylabel="latency until answered (ms)",
        title="Each booking",
    )
    timeline.legend(fontsize=7, markerscale=3)
    latencies = sorted(1000 * (r["end"] - r["first_start"]) for r in records)
    cdf.plot(latencies, [(i + 1) / len(latencies) for i in range(len(latencies))])
    for quantile in (0.5, 0.95, 0.99):
        value = _percentile(latencies, quantile)
        cdf.axvline(value, linestyle=":", color="grey")
        cdf.annotate(f"p{round(quantile * 100)} {value:.0f} ms", (value, quantile), fontsize=7)
    cdf.set(xlabel="latency (ms)", ylabel="share of bookings answered", title="Distribution")
    cdf.grid(True, alpha=0.3)
    figure.suptitle(title, fontsize=9)
    figure.tight_layout()
    figure.savefig(path, dpi=110)


if __name__ == "__main__":
    import django

    django.setup()
    data = json.loads(Path(sys.argv[1]).read_text())
    records = json.loads(Path(sys.argv[2]).read_text())["records"]
    print(json.dumps(check(data, records)))
