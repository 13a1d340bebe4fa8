"""Reads of the credit ledger scoped to who may see them (bookings' own are on BookingQuerySet)."""

from collections.abc import Iterable

from django.db.models import QuerySet

from accounts.models import User
from scheduling.models import Session
from scheduling.services import TOLD_CHANGES

from .models import Booking, CreditTransaction


def credit_transactions_visible_to(user: User) -> QuerySet[CreditTransaction]:
    """SPEC §4: staff see every ledger; everybody else only their own."""
    transactions = CreditTransaction.objects.all()
    if user.is_staff:
        return transactions
    return transactions.filter(user=user)


def students_told_of(session: Session, changes: Iterable[str]) -> int:
    """How many students an edit of `changes` (field names) on the session will email:
    everyone booked or waitlisted, when the time, place or type changes
    (scheduling.services.TOLD_CHANGES, what notifications sends on); else 0. The pages
    ask for a confirmation with this figure before saving."""
    if not set(changes) & set(TOLD_CHANGES):
        return 0
    return Booking.objects.live().filter(session=session).values("student_id").distinct().count()
