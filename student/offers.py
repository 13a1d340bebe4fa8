"""What the booking button and the cancel step say, worked out before the student acts.

The words follow the services' rules (bookings.services) so that the label promises
what `book_session` and `cancel_booking` will do; the services decide in the end,
under their locks, and the page reports their outcome.
"""

from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone
from django.utils.formats import date_format

from accounts.models import User
from bookings.models import Booking
from bookings.services import cancellation_refund, refund_deadline
from scheduling.models import Session


def ordinal(number: int) -> str:
    """1st, 2nd, 3rd, 4th, 11th, 12th, 13th, 21st..."""
    if 10 <= number % 100 <= 20:
        suffix = "th"
    else:
        suffix = {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"


def credits(amount: int) -> str:
    return f"{amount} credit" if amount == 1 else f"{amount} credits"


def local_moment(moment: datetime) -> str:
    """ "Tue 8 Dec 18:00 Europe/Budapest": in the zone the page shows, named."""
    local = timezone.localtime(moment)
    return f"{date_format(local, 'D j M H:i')} {timezone.get_current_timezone_name()}"


@dataclass(frozen=True)
class Offer:
    """The session page's one button: what it says, and whether it leads to booking."""

    label: str
    can_book: bool
    will_waitlist: bool = False


def booking_offer(
    *, session: Session, student: User, booking: Booking | None, eligible: bool
) -> Offer:
    """`session` carries `with_stats()`; `booking` is the student's live one, if any."""
    if booking is not None:
        if booking.status == Booking.Status.CONFIRMED:
            return Offer("You are booked", can_book=False)
        return Offer(
            f"You are {ordinal(booking.waitlist_position or 1)} on the waitlist", can_book=False
        )
    if session.status == Session.Status.CANCELLED:
        return Offer("This session has been cancelled", can_book=False)
    if session.has_started():
        return Offer("Booking has closed: the session has started", can_book=False)
    if not eligible:
        target = session.target_specialization_id
        if target and not session.mixed_specialization and target != student.specialization_id:
            return Offer("Not open to your specialization", can_book=False)
        return Offer("Only for the members of its group", can_book=False)
    cost, balance = session.credit_cost, student.credit_balance
    if balance < cost:
        # The service refuses a waitlist place it could never charge, too.
        return Offer(f"Not enough credits (you have {balance})", can_book=False)
    if session.available_spots > 0:
        if cost == 0:
            return Offer("Book (free)", can_book=True)
        return Offer(f"Book for {credits(cost)} (balance after: {balance - cost})", can_book=True)
    place = ordinal(session.waitlist_count + 1)
    charge = f"{credits(cost)} charged only if a seat frees" if cost else "free"
    return Offer(
        f"Join the waitlist (you would be {place}; {charge})", can_book=True, will_waitlist=True
    )


def cancellation_policy(session: Session, now: datetime | None = None) -> str:
    """The rule in words, with the deadline in the page's zone."""
    now = now or timezone.now()
    deadline = refund_deadline(session)
    if now <= deadline:
        return f"Free cancellation until {local_moment(deadline)}; after that no refund."
    return f"The free cancellation ended {local_moment(deadline)}: cancelling now refunds nothing."


def cancellation_outcome(booking: Booking, now: datetime | None = None) -> str:
    """What cancelling this booking now will do, said before the student confirms."""
    now = now or timezone.now()
    if booking.status == Booking.Status.WAITLISTED:
        return "You leave the waitlist. Nothing was charged, so nothing is refunded."
    refund = cancellation_refund(booking, booking.session, now)
    if refund:
        return f"{credits(refund)} will be refunded to your balance."
    if booking.credits_charged:
        ended = local_moment(refund_deadline(booking.session))
        return (
            f"No refund: the free cancellation ended {ended}. "
            f"The {credits(booking.credits_charged)} you paid are not returned."
        )
    return "The session was free: nothing to refund."


def cancel_label(booking: Booking, now: datetime | None = None) -> str:
    """The short form beside a booking in the list."""
    if booking.status == Booking.Status.WAITLISTED:
        return "Leave the waitlist"
    refund = cancellation_refund(booking, booking.session, now or timezone.now())
    return f"Cancel (refund {credits(refund)})" if refund else "Cancel (no refund)"
