"""Bookings' refusals: the stable codes of seats, credits and idempotent retries.

The session's own states (`session_cancelled`, `session_started`,
`session_deleted`) are scheduling's codes (`scheduling.errors`).
"""

from config.errors import error_code

NOT_ELIGIBLE = error_code("not_eligible", "The student may not book this session.")
ALREADY_BOOKED = error_code(
    "already_booked",
    "The student already holds a live booking for the session.",
    constraints=("booking_one_live_per_student_and_session",),
)
# In the contract (SPEC §4) for a full session where a waitlist is impossible: every
# session has a waitlist today, so nothing raises it yet.
SESSION_FULL = error_code("session_full", "No seat is free where a waitlist is impossible.")
INSUFFICIENT_CREDITS = error_code(
    "insufficient_credits",
    "The balance does not cover the session's cost.",
    constraints=("user_credit_balance_non_negative",),
)
CAPACITY_BELOW_CONFIRMED = error_code(
    "capacity_below_confirmed", "The new capacity is below the confirmed bookings."
)
ALREADY_CANCELLED = error_code("already_cancelled", "The booking is already cancelled.")
ALREADY_SETTLED = error_code(
    "already_settled",
    "The booking has already been charged or refunded.",
    constraints=("credit_transaction_one_charge_and_refund_per_booking",),
)
IDEMPOTENCY_IN_FLIGHT = error_code(
    "idempotency_in_flight", "A request with the same Idempotency-Key is still running."
)
IDEMPOTENCY_KEY_REUSED = error_code(
    "idempotency_key_reused", "The Idempotency-Key was used with another request (422)."
)
