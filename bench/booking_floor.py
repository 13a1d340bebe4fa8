"""The booking floor: the same work as POST /api/v1/bookings/, written by hand in SQL.

One transaction per booking over psycopg: lock the session, count its seats (and
the student's live booking) in the next statement, then one statement that debits
the balance, inserts the booking, its ledger row, its activity and its task rows
(the email, and for a confirmed seat the reminder's planning). Nothing that the
ORM, DRF or HTTP add: the fastest correct booking we know how to write.
"""

import uuid
from typing import Any

from psycopg.types.json import Jsonb

LOCK = """
SELECT capacity, credit_cost, status, date_start > now()
FROM scheduling_session WHERE id = %(session)s FOR UPDATE
"""

# After the lock, in a statement of its own (READ COMMITTED: a fresh snapshot).
COUNT = """
SELECT count(*) FILTER (WHERE status = 'confirmed'),
       count(*) FILTER (WHERE status = 'waitlisted'),
       count(*) FILTER (WHERE student_id = %(student)s AND status <> 'cancelled')
FROM bookings_booking WHERE session_id = %(session)s
"""

CONFIRM = """
WITH debit AS (
    UPDATE accounts_user SET credit_balance = credit_balance - %(cost)s
    WHERE id = %(student)s AND credit_balance >= %(cost)s RETURNING id
), booking AS (
    INSERT INTO bookings_booking
        (student_id, session_id, status, credits_charged, created_at, updated_at)
    SELECT id, %(session)s, 'confirmed', %(cost)s, now(), now() FROM debit RETURNING id
), ledger AS (
    INSERT INTO bookings_credittransaction (user_id, amount, kind, booking_id, note, created_at)
    SELECT %(student)s, -%(cost)s, 'booking', id, 'Booking', now() FROM booking
), activity AS (
    INSERT INTO activity_activity
        (actor_id, verb, target_type, target_id, session_id, student_id, data, created_at)
    SELECT %(student)s, 'booking.confirmed', 'bookings.booking', id, %(session)s,
           %(student)s, jsonb_build_object('credits_charged', %(cost)s), now()
    FROM booking RETURNING id
), tasks AS (
    INSERT INTO django_tasks_database_dbtaskresult
        (id, status, args_kwargs, priority, task_path, queue_name, backend_name, run_after,
         enqueued_at, exception_class_path, traceback, worker_ids)
    SELECT task.id, 'READY', task.args, 0, task.path, 'default', 'default',
           '9999-01-01', now(), '', '', '[]'
    FROM activity, booking, (VALUES
        (%(email_id)s::uuid, 'notifications.tasks.send_activity_email', %(email)s::jsonb),
        (%(reminder_id)s::uuid, 'notifications.tasks.schedule_reminder', %(reminder)s::jsonb)
    ) AS task (id, path, args)
)
SELECT id FROM booking
"""

WAITLIST = """
WITH booking AS (
    INSERT INTO bookings_booking
        (student_id, session_id, status, credits_charged, created_at, updated_at)
    SELECT %(student)s, %(session)s, 'waitlisted', 0, now(), now()
    FROM accounts_user WHERE id = %(student)s AND credit_balance >= %(cost)s RETURNING id
), activity AS (
    INSERT INTO activity_activity
        (actor_id, verb, target_type, target_id, session_id, student_id, data, created_at)
    SELECT %(student)s, 'booking.waitlisted', 'bookings.booking', id, %(session)s,
           %(student)s, jsonb_build_object('waitlist_position', %(position)s), now()
    FROM booking RETURNING id
), tasks AS (
    INSERT INTO django_tasks_database_dbtaskresult
        (id, status, args_kwargs, priority, task_path, queue_name, backend_name, run_after,
         enqueued_at, exception_class_path, traceback, worker_ids)
    SELECT %(email_id)s::uuid, 'READY', %(email)s::jsonb, 0,
           'notifications.tasks.send_activity_email', 'default', 'default', '9999-01-01',
           now(), '', '', '[]'
    FROM activity
)
SELECT id FROM booking
"""


def book(connection: Any, student: int, session: int) -> str:
    """Book like book_session does; returns the outcome ('confirmed', 'waitlisted', or
    the refusal's code). `connection` is a psycopg connection in autocommit mode."""
    with connection.transaction(), connection.cursor() as cursor:
        cursor.execute(LOCK, {"session": session})
        found = cursor.fetchone()
        if found is None:
            return "session_deleted"
        capacity, cost, status, upcoming = found
        if status != "scheduled" or not upcoming:
            return "session_closed"
        cursor.execute(COUNT, {"session": session, "student": student})
        confirmed, waitlisted, held = cursor.fetchone()
        if held:
            return "already_booked"
        params = {
            "session": session,
            "student": student,
            "cost": cost,
            "position": waitlisted + 1,
            "email_id": str(uuid.uuid4()),
            "reminder_id": str(uuid.uuid4()),
            # The kwargs the tasks name (the activity's id is not known before the insert,
            # as in the ORM's path it is a value in the row: the same bytes written).
            "email": Jsonb({"args": [], "kwargs": {"kind": "booking", "recipient_id": student}}),
            "reminder": Jsonb({"args": [], "kwargs": {"booking_id": None}}),
        }
        cursor.execute(CONFIRM if confirmed < capacity else WAITLIST, params)
        if cursor.fetchone() is None:
            return "insufficient_credits"
        return "confirmed" if confirmed < capacity else "waitlisted"
