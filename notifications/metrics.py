"""Queue depth, task outcomes and email delivery, read from the database at scrape time.

Workers are separate processes, often on other machines: counters kept in their
memory would never reach the app server that answers /metrics. The rows they
leave (the task table, the SentEmail log) do.
"""

from collections.abc import Iterator
from datetime import timedelta

from django.db.models import Count
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily, Metric

from config import metrics as config_metrics
from config.task_queue import finished_counts, oldest_ready_age_seconds, queue_depth

from .models import SentEmail

LATENCY_WINDOW = timedelta(hours=1)
QUANTILES = (0.5, 0.9, 0.99)


def _quantile(sorted_values: list[float], q: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


class BackgroundWorkCollector:
    def collect(self) -> Iterator[Metric]:
        depth = GaugeMetricFamily(
            "practica_task_queue_depth",
            "Tasks waiting (ready: due now; scheduled: later) or running.",
            labels=["state"],
        )
        for state, rows in queue_depth().items():
            depth.add_metric([state], rows)
        yield depth
        yield GaugeMetricFamily(
            "practica_task_oldest_ready_seconds",
            "How long the longest-waiting due task has been due.",
            value=oldest_ready_age_seconds(),
        )
        outcomes = GaugeMetricFamily(
            "practica_task_outcomes",
            "Finished tasks in the queue table, by task and outcome (until pruned).",
            labels=["task", "outcome"],
        )
        for path, status, rows in finished_counts():
            outcomes.add_metric([path.rsplit(".", 1)[-1], status.lower()], rows)
        yield outcomes
        since = timezone.now() - LATENCY_WINDOW
        emails = GaugeMetricFamily(
            "practica_emails_last_hour",
            "Emails of the last hour by status (pending ones wait for a retry).",
            labels=["status"],
        )
        for status, rows in (
            SentEmail.objects.filter(created_at__gte=since)
            .values_list("status")
            .annotate(rows=Count("pk"))
            .order_by()
        ):
            emails.add_metric([status], rows)
        yield emails
        latencies = sorted(
            (sent - queued).total_seconds()
            for queued, sent in SentEmail.objects.filter(
                status=SentEmail.Status.SENT, sent_at__gte=since
            ).values_list("queued_at", "sent_at")[:10_000]
        )
        latency = GaugeMetricFamily(
            "practica_email_delivery_seconds",
            "From the event (or a reminder's due time) to the SMTP server's acceptance, "
            "emails sent in the last hour.",
            labels=["quantile"],
        )
        for q in QUANTILES:
            if latencies:
                latency.add_metric([str(q)], _quantile(latencies, q))
        yield latency


COLLECTOR = BackgroundWorkCollector()


def connect() -> None:
    if COLLECTOR not in config_metrics.SCRAPE_TIME_COLLECTORS:
        config_metrics.SCRAPE_TIME_COLLECTORS.append(COLLECTOR)
