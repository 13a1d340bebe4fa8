"""Reads of the credit ledger scoped to who may see them (bookings' own are on BookingQuerySet)."""

from django.db.models import QuerySet

from accounts.models import User

from .models import CreditTransaction


def credit_transactions_visible_to(user: User) -> QuerySet[CreditTransaction]:
    """SPEC §4: staff see every ledger; everybody else only their own."""
    transactions = CreditTransaction.objects.all()
    if user.is_staff:
        return transactions
    return transactions.filter(user=user)
