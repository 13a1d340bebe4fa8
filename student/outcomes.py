"""The services' refusals in the student's words: one mapping for every student page.

Keyed by the stable error codes (config.errors, each app's errors.py); a code not
listed shows the service's own message, which is already written for people.
"""

from bookings.errors import ALREADY_BOOKED, ALREADY_CANCELLED, INSUFFICIENT_CREDITS, NOT_ELIGIBLE
from config.errors import BUSY, DomainError
from engagement.errors import ALREADY_GIVEN, NOT_ATTENDED
from scheduling.errors import SESSION_CANCELLED, SESSION_DELETED, SESSION_STARTED

MESSAGES: dict[str, str] = {
    ALREADY_BOOKED: "You already hold a booking for this session: see My bookings.",
    ALREADY_CANCELLED: "This booking was already cancelled.",
    NOT_ELIGIBLE: "This session is not open to you.",
    SESSION_CANCELLED: "The session has been cancelled.",
    SESSION_STARTED: "The session has already started: it can no longer be booked or cancelled.",
    SESSION_DELETED: "The session no longer exists.",
    ALREADY_GIVEN: "You have already given feedback on this session.",
    NOT_ATTENDED: "Feedback opens once you are marked present at the session.",
    BUSY: "Many people are booking this session right now; please try again in a moment.",
}


def refusal_message(error: DomainError) -> str:
    """What the page tells the student when a service refused (insufficient credits keep
    the service's message: it names the cost)."""
    if error.code == INSUFFICIENT_CREDITS:
        return error.message
    return MESSAGES.get(error.code, error.message)
