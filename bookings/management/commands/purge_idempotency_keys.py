"""Delete Idempotency-Keys past their TTL; run it from cron (e.g. hourly).

Each keyed request already purges its own user's expired keys; this catches
the users who never come back.
"""

from typing import Any

from django.core.management.base import BaseCommand

from bookings.idempotency import purge_expired


class Command(BaseCommand):
    help = "Delete Idempotency-Keys older than IDEMPOTENCY_KEY_TTL_HOURS."

    def handle(self, *args: Any, **options: Any) -> None:
        deleted = purge_expired()
        self.stdout.write(f"Deleted {deleted} expired idempotency keys.")
