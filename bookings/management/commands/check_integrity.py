"""`manage.py check_integrity`: report every broken booking or ledger invariant."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from bookings.integrity import check_integrity


class Command(BaseCommand):
    help = (
        "Check that balances reconcile with the ledger, charges and refunds match "
        "bookings, no session is overbooked, nobody who can pay waits for a free seat "
        "and nobody holds two live bookings of a session. Exits 1 when anything is found."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        findings = check_integrity()
        for finding in findings:
            self.stdout.write(str(finding))
        if findings:
            raise CommandError(f"{len(findings)} integrity finding(s).", returncode=1)
        self.stdout.write(self.style.SUCCESS("Integrity check passed: no findings."))
