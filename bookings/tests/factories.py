import factory
from django.db.models import F

from accounts.models import User
from accounts.tests.factories import StudentFactory
from bookings.models import Booking, CreditTransaction
from scheduling.tests.factories import SessionFactory


class BookingFactory(factory.django.DjangoModelFactory):
    """A booking row as the services would leave it; a confirmed one has its charge.

    For the rules themselves use bookings.services; this builds data for lists,
    statistics and permissions quickly. The charge keeps the ledger reconciled:
    the student is granted the cost and charged it.
    """

    class Meta:
        model = Booking
        skip_postgeneration_save = True

    student = factory.SubFactory(StudentFactory)
    session = factory.SubFactory(SessionFactory)
    status = Booking.Status.CONFIRMED
    credits_charged = factory.LazyAttribute(
        lambda booking: (
            booking.session.credit_cost if booking.status == Booking.Status.CONFIRMED else 0
        )
    )
    cancelled_at = factory.LazyAttribute(
        lambda booking: (
            booking.session.date_start if booking.status == Booking.Status.CANCELLED else None
        )
    )

    @factory.post_generation
    def ledger(self, create: bool, extracted: object, **kwargs: object) -> None:
        if not create or not self.credits_charged:
            return
        CreditTransaction.objects.create(
            user=self.student,
            amount=self.credits_charged,
            kind=CreditTransaction.Kind.GRANT,
            note="Factory grant for a booking",
        )
        CreditTransaction.objects.create(
            user=self.student,
            amount=-self.credits_charged,
            kind=CreditTransaction.Kind.BOOKING,
            booking=self,
        )
        if self.status == Booking.Status.CANCELLED:
            CreditTransaction.objects.create(
                user=self.student,
                amount=self.credits_charged,
                kind=CreditTransaction.Kind.REFUND,
                booking=self,
            )
            User.objects.filter(pk=self.student_id).update(
                credit_balance=F("credit_balance") + self.credits_charged
            )


class CreditGrantFactory(factory.django.DjangoModelFactory):
    """A grant ledger row that also moves the balance, so the two always agree."""

    class Meta:
        model = CreditTransaction
        skip_postgeneration_save = True

    user = factory.SubFactory(StudentFactory)
    amount = 10
    kind = CreditTransaction.Kind.GRANT
    note = "Factory grant"

    @factory.post_generation
    def balance(self, create: bool, extracted: object, **kwargs: object) -> None:
        if create:
            User.objects.filter(pk=self.user_id).update(
                credit_balance=F("credit_balance") + self.amount
            )
            self.user.refresh_from_db(fields=["credit_balance"])
