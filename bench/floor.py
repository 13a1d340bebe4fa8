"""The floor: the same page as GET /api/v1/sessions/ from one hand-written SQL statement.

PostgreSQL gets LATERAL aggregates, each reading one index range per row of the
page only; the page's ids come first from the (date_start, id) index, so the
statement's cost does not depend on the offset's statistics. SQLite, which has
no LATERAL, gets correlated scalar subqueries.
"""

import json
from datetime import UTC, datetime
from typing import Any


def _columns() -> list[str]:
    # The API's own field list, so the floor renders exactly the same JSON keys.
    from scheduling.api.serializers import SessionSerializer

    return list(SessionSerializer.Meta.fields)


POSTGRES_PAGE = """
WITH page AS (
    SELECT id FROM scheduling_session ORDER BY date_start, id LIMIT %(limit)s OFFSET %(offset)s
)
SELECT s.id, s.title, s.description, s.semester_id, s.instructor_id,
       COALESCE(NULLIF(TRIM(u.first_name || ' ' || u.last_name), ''), u.username),
       s.group_id, sp.code, s.mixed_specialization, s.session_type, s.status,
       s.date_start, s.date_end, s.capacity, s.credit_cost, s.location, s.meeting_link,
       s.allow_overlap, s.overlap_reason, s.series_id,
       b.live, b.confirmed, b.waitlisted, GREATEST(s.capacity - b.confirmed, 0),
       a.attended, f.n, f.average, p.n, s.created_at, s.updated_at,
       (SELECT count(*) FROM scheduling_session) AS total
FROM page
JOIN scheduling_session s ON s.id = page.id
JOIN accounts_user u ON u.id = s.instructor_id
LEFT JOIN scheduling_specialization sp ON sp.id = s.target_specialization_id
CROSS JOIN LATERAL (
    SELECT count(*) FILTER (WHERE status <> 'cancelled') AS live,
           count(*) FILTER (WHERE status = 'confirmed') AS confirmed,
           count(*) FILTER (WHERE status = 'waitlisted') AS waitlisted
    FROM bookings_booking WHERE session_id = s.id
) b
CROSS JOIN LATERAL (
    SELECT count(*) AS attended FROM engagement_attendance
    WHERE session_id = s.id AND status IN ('present', 'late')
) a
CROSS JOIN LATERAL (
    SELECT count(*) AS n, avg(rating)::float8 AS average
    FROM engagement_feedback WHERE session_id = s.id
) f
CROSS JOIN LATERAL (
    SELECT count(*) AS n FROM engagement_projectsession WHERE session_id = s.id
) p
ORDER BY s.date_start, s.id
"""

SQLITE_PAGE = """
WITH page AS (
    SELECT id FROM scheduling_session ORDER BY date_start, id LIMIT :limit OFFSET :offset
)
SELECT s.id, s.title, s.description, s.semester_id, s.instructor_id,
       COALESCE(NULLIF(TRIM(u.first_name || ' ' || u.last_name), ''), u.username),
       s.group_id, sp.code, s.mixed_specialization, s.session_type, s.status,
       s.date_start, s.date_end, s.capacity, s.credit_cost, s.location, s.meeting_link,
       s.allow_overlap, s.overlap_reason, s.series_id,
       (SELECT count(*) FROM bookings_booking WHERE session_id = s.id AND status <> 'cancelled'),
       (SELECT count(*) FROM bookings_booking WHERE session_id = s.id AND status = 'confirmed'),
       (SELECT count(*) FROM bookings_booking WHERE session_id = s.id AND status = 'waitlisted'),
       NULL,
       (SELECT count(*) FROM engagement_attendance
         WHERE session_id = s.id AND status IN ('present', 'late')),
       (SELECT count(*) FROM engagement_feedback WHERE session_id = s.id),
       (SELECT avg(rating) FROM engagement_feedback WHERE session_id = s.id),
       (SELECT count(*) FROM engagement_projectsession WHERE session_id = s.id),
       s.created_at, s.updated_at,
       (SELECT count(*) FROM scheduling_session) AS total
FROM page
JOIN scheduling_session s ON s.id = page.id
JOIN accounts_user u ON u.id = s.instructor_id
LEFT JOIN scheduling_specialization sp ON sp.id = s.target_specialization_id
ORDER BY s.date_start, s.id
"""


def _iso(value: Any) -> Any:
    if isinstance(value, str):  # SQLite hands back text
        value = datetime.fromisoformat(value).replace(tzinfo=UTC)
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    return value


def render_page(rows: list[tuple], page: int, page_size: int) -> str:
    total = rows[0][-1] if rows else 0
    columns = _columns()
    results = []
    for row in rows:
        item = dict(zip(columns, row[:-1], strict=True))
        for key in ("date_start", "date_end", "created_at", "updated_at"):
            item[key] = _iso(item[key])
        if item["available_spots"] is None:
            item["available_spots"] = max(item["capacity"] - item["confirmed_count"], 0)
        item["mixed_specialization"] = bool(item["mixed_specialization"])
        results.append(item)
    last = (total + page_size - 1) // page_size
    return json.dumps(
        {
            "count": total,
            "next": f"?page={page + 1}&page_size={page_size}" if page < last else None,
            "previous": f"?page={page - 1}&page_size={page_size}" if page > 1 else None,
            "results": results,
        }
    )


def floor_page(connection: Any, vendor: str, page: int, page_size: int) -> str:
    """One statement, then json.dumps: the fastest way to this page we know."""
    params = {"limit": page_size, "offset": (page - 1) * page_size}
    cursor = connection.cursor()
    cursor.execute(POSTGRES_PAGE if vendor == "postgresql" else SQLITE_PAGE, params)
    return render_page(cursor.fetchall(), page, page_size)


def explain(connection: Any, page: int, page_size: int) -> str:
    params = {"limit": page_size, "offset": (page - 1) * page_size}
    cursor = connection.cursor()
    cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + POSTGRES_PAGE, params)
    return "\n".join(row[0] for row in cursor.fetchall())
