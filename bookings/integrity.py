"""Read-only checks that the seats and the ledger obey SPEC §3, whatever wrote them.

Each check is one query and returns a list of findings naming the offending row
ids; `manage.py check_integrity` runs them all. The database constraints already
refuse some of these states; the checks are defence in depth against raw SQL,
a dropped constraint or a bug in a service.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, F, IntegerField, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import User
from scheduling.models import Session

from .models import Booking, CreditTransaction


@dataclass(frozen=True)
class Finding:
    check: str
    message: str
    ids: tuple[int, ...]

    def __str__(self) -> str:
        return f"[{self.check}] {self.message}"


def _ledger_sum() -> Coalesce:
    rows = (
        CreditTransaction.objects.filter(user_id=OuterRef("pk"))
        .order_by()
        .values("user_id")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    return Coalesce(Subquery(rows, output_field=IntegerField()), Value(0))


def _settlement_counts(kind: str, sign: int) -> dict[str, Count]:
    """Per booking: its ledger rows of `kind`, and those of exactly sign * credits_charged.

    One LEFT JOIN on the ledger, grouped by booking: the only joined table, so no fan-out.
    """
    of_kind = Q(transactions__kind=kind)
    exact = of_kind & Q(transactions__amount=sign * F("credits_charged"))
    return {
        "rows": Count("transactions", filter=of_kind),
        "exact": Count("transactions", filter=exact),
    }


def _confirmed_count(session_column: str = "pk") -> Coalesce:
    """Confirmed bookings of the outer row's session (`pk` of a session, or a column)."""
    rows = (
        Booking.objects.filter(session_id=OuterRef(session_column), status=Booking.Status.CONFIRMED)
        .order_by()
        .values("session_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(rows, output_field=IntegerField()), Value(0))


def balances_reconcile() -> list[Finding]:
    """Every balance equals the sum of its ledger rows."""
    users = (
        User.objects.annotate(ledger=_ledger_sum())
        .exclude(credit_balance=F("ledger"))
        .order_by("pk")
        .values_list("pk", "credit_balance", "ledger")
    )
    return [
        Finding(
            "balance_mismatch",
            f"User {pk} has a balance of {balance} but ledger rows summing to {ledger}.",
            (pk,),
        )
        for pk, balance, ledger in users
    ]


def charges_match_bookings() -> list[Finding]:
    """A charged booking has exactly one charge of -credits_charged; an uncharged none."""
    bookings = (
        Booking.objects.order_by("pk")
        .values("pk", "status", "credits_charged")
        .annotate(**_settlement_counts(CreditTransaction.Kind.BOOKING, -1))
        .filter(
            Q(credits_charged__gt=0) & (~Q(rows=1) | ~Q(exact=1)) | Q(credits_charged=0, rows__gt=0)
        )
        .values_list("pk", "status", "credits_charged", "rows")
    )
    return [
        Finding(
            "charge_mismatch",
            f"Booking {pk} ({status}) records {charged} credits charged but has {charges} "
            "charge row(s) that do not match it.",
            (pk,),
        )
        for pk, status, charged, charges in bookings
    ]


def refunds_are_single_and_on_cancelled_bookings() -> list[Finding]:
    """At most one refund per booking, only on a cancelled one, for what was charged."""
    bookings = (
        Booking.objects.order_by("pk")
        .values("pk", "status", "credits_charged")
        .annotate(**_settlement_counts(CreditTransaction.Kind.REFUND, 1))
        .filter(
            Q(rows__gt=1)
            | Q(rows=1, exact=0)
            | (Q(rows__gt=0) & ~Q(status=Booking.Status.CANCELLED))
        )
        .values_list("pk", "status", "rows", "credits_charged")
    )
    findings = []
    for pk, status, refunds, charged in bookings:
        refund_ids = tuple(
            CreditTransaction.objects.filter(booking_id=pk, kind=CreditTransaction.Kind.REFUND)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        findings.append(
            Finding(
                "refund_mismatch",
                f"Booking {pk} ({status}, {charged} credits charged) has {refunds} refund(s): "
                f"transactions {list(refund_ids)}.",
                (pk, *refund_ids),
            )
        )
    return findings


def sessions_not_overbooked() -> list[Finding]:
    sessions = (
        Session.objects.annotate(confirmed=_confirmed_count())
        .filter(confirmed__gt=F("capacity"))
        .order_by("pk")
        .values_list("pk", "capacity", "confirmed")
    )
    return [
        Finding(
            "overbooked",
            f"Session {pk} has {confirmed} confirmed bookings for {capacity} seats.",
            (pk,),
        )
        for pk, capacity, confirmed in sessions
    ]


def nobody_waits_for_a_free_seat(now: datetime | None = None) -> list[Finding]:
    """On an open session with a free seat, nobody who can pay is waitlisted.

    Students who cannot pay stay waitlisted by rule (SPEC §3), so they are not
    findings; the services promote whenever seats free up or credits arrive.
    """
    now = now or timezone.now()
    waiting = (
        Booking.objects.filter(
            status=Booking.Status.WAITLISTED,
            session__status=Session.Status.SCHEDULED,
            session__date_start__gt=now,
            student__credit_balance__gte=F("session__credit_cost"),
        )
        .alias(confirmed=_confirmed_count("session_id"))
        .filter(confirmed__lt=F("session__capacity"))
        .order_by("session_id", "pk")
        .values_list("pk", "session_id", "student_id")
    )
    return [
        Finding(
            "waitlisted_with_free_seat",
            f"Booking {pk} of student {student} is waitlisted on session {session}, "
            "which has a free seat the student can pay for.",
            (pk, session),
        )
        for pk, session, student in waiting
    ]


def one_live_booking_per_student_and_session() -> list[Finding]:
    duplicates = (
        Booking.objects.live()
        .order_by()
        .values("student_id", "session_id")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
        .values_list("student_id", "session_id")
    )
    findings = []
    for student, session in duplicates:
        ids = tuple(
            Booking.objects.live()
            .filter(student_id=student, session_id=session)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        findings.append(
            Finding(
                "duplicate_live_booking",
                f"Student {student} holds {len(ids)} live bookings {list(ids)} "
                f"on session {session}.",
                ids,
            )
        )
    return findings


CHECKS: tuple[Callable[[], list[Finding]], ...] = (
    balances_reconcile,
    charges_match_bookings,
    refunds_are_single_and_on_cancelled_bookings,
    sessions_not_overbooked,
    nobody_waits_for_a_free_seat,
    one_live_booking_per_student_and_session,
)


def check_integrity() -> list[Finding]:
    """Every finding of every check; empty when the data is sound."""
    return [finding for check in CHECKS for finding in check()]
