"""The kinds of email, and which ones a person may turn off (accounts.User fields)."""

from scheduling import services as scheduling_services

BOOKING_CONFIRMED = "booking_confirmed"
BOOKING_WAITLISTED = "booking_waitlisted"
BOOKING_PROMOTED = "booking_promoted"
BOOKING_CANCELLED = "booking_cancelled"  # by the student
BOOKING_CANCELLED_BY_ACADEMY = "booking_cancelled_by_academy"  # by staff
SESSION_CANCELLED = "session_cancelled"
SESSION_CHANGED = "session_changed"
CREDITS_GRANTED = "credits_granted"
REMINDER = "reminder"
PASSWORD_RESET = "password_reset"

# kind -> the User flag that turns it off. Kinds not named here (charges, refunds,
# cancellations by the academy, password resets) are always sent. SESSION_CHANGED is
# optional only for people on the waitlist: a confirmed seat that moves is always told.
OPTIONAL = {
    REMINDER: "notify_reminders",
    CREDITS_GRANTED: "notify_credit_grants",
}
WAITLIST_CHANGES_FLAG = "notify_waitlist_changes"

# Session fields whose change people are told about (old and new in the email): the
# domain's rule, which the pages also use to warn before such an edit.
TOLD_CHANGES = scheduling_services.TOLD_CHANGES
