"""Put back in the queue the tasks of workers that died while running them.

A worker killed outright (SIGKILL, a lost machine) leaves its task `running` for
ever: django-tasks-db has no lease. Tasks here are short (an SMTP conversation is
bounded by EMAIL_TIMEOUT), so one still `running` after `--minutes` has no live
worker; run again, it sends nothing twice (each email's idempotency key). Run at
each worker start (Procfile, systemd unit) and from cron if workers rarely restart.
"""

from argparse import ArgumentParser
from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand
from django.utils import timezone
from django_tasks_db.compat import TaskResultStatus
from django_tasks_db.models import DBTaskResult


class Command(BaseCommand):
    help = "Requeue tasks left running by workers that died."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--minutes",
            type=int,
            default=15,
            help="Requeue tasks started longer ago than this (default: %(default)s).",
        )

    def handle(self, *args: Any, minutes: int, **options: Any) -> None:
        cutoff = timezone.now() - timedelta(minutes=minutes)
        count = DBTaskResult.objects.filter(
            status=TaskResultStatus.RUNNING, started_at__lt=cutoff
        ).update(status=TaskResultStatus.READY)
        self.stdout.write(f"Requeued {count} task(s) left running since before {cutoff:%H:%M}.")
