"""What ``/metrics`` reports for a worker: every series from the start, at 0.

The metrics are prometheus-client's types on a registry of this worker's own (tests run
several workers' loops in one process); ``render`` writes them with prometheus-client's
exposition, in the format the scraper asks for. The labelled counters get a child for each
combination of their label values at once, so ``rate()`` and alerts see a series before its
first increment. The ``_created`` series are left out: a worker's start time is
``process_start_time_seconds`` already, and they would double the series.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics
from prometheus_client.exposition import choose_encoder
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector

from uptime_core.enums import ChannelKind, CheckStatus, ProbeKind

DELIVERY_OUTCOMES = ("sent", "retried", "failed")
LAG_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
BATCH_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200, 500)

disable_created_metrics()  # type: ignore[no-untyped-call]


class WorkerMetrics:
    """The metrics of one worker process."""

    def __init__(self) -> None:
        self.registry = registry = CollectorRegistry()
        self.checks = Counter(
            "uptime_worker_checks_total",
            "Checks probed, by probe kind and status.",
            ["kind", "status"],
            registry=registry,
        )
        for kind in ProbeKind:
            for status in CheckStatus:
                self.checks.labels(kind=kind.value, status=status.value)
        self.recorded = Counter(
            "uptime_worker_results_recorded_total",
            "Results recorded in the database.",
            registry=registry,
        )
        self.fenced = Counter(
            "uptime_worker_results_fenced_total",
            "Results not recorded because the lease was lost (expired or taken over).",
            registry=registry,
        )
        self.released = Counter(
            "uptime_worker_leases_released_total",
            "Unstarted slots given back on shutdown.",
            registry=registry,
        )
        self.lag = Histogram(
            "uptime_worker_schedule_lag_seconds",
            "Delay between a slot's time and the start of its check.",
            buckets=LAG_BUCKETS,
            registry=registry,
        )
        self.claim_batch = Histogram(
            "uptime_worker_claim_batch_size",
            "Slots per claim.",
            buckets=BATCH_BUCKETS,
            registry=registry,
        )
        self.record_batch = Histogram(
            "uptime_worker_record_batch_size",
            "Outcomes per recording statement.",
            buckets=BATCH_BUCKETS,
            registry=registry,
        )
        self.in_flight = Gauge("uptime_worker_in_flight", "Probes running now.", registry=registry)
        self.statements = Counter(
            "uptime_worker_database_statements_total",
            "Statements sent to the database (each one round trip), retries included.",
            registry=registry,
        )
        self.deliveries = Counter(
            "uptime_worker_deliveries_total",
            "Notification attempts by channel kind and outcome (sent, retried, failed).",
            ["kind", "outcome"],
            registry=registry,
        )
        for channel in ChannelKind:
            for outcome in DELIVERY_OUTCOMES:
                self.deliveries.labels(kind=channel.value, outcome=outcome)
        self.database_up = Gauge(
            "uptime_worker_database_up",
            "1 while every statement of the worker succeeds; 0 while the database is "
            "unreachable, restarting or cannot write (an outage).",
            registry=registry,
        )
        self.database_writable = Gauge(
            "uptime_worker_database_writable",
            "1 while results can be recorded; 0 while recording them fails (database away, "
            "disk full, read-only).",
            registry=registry,
        )
        self.outages = Counter(
            "uptime_worker_database_outages_total",
            "Database outages this worker went through (each logged once when it starts).",
            registry=registry,
        )
        ProcessCollector(registry=registry)
        PlatformCollector(registry=registry)

    def value(self, name: str, **labels: str) -> float:
        """The current value of the sample ``name`` (a full sample name, ``_total`` included)."""
        found = self.registry.get_sample_value(name, labels)
        return 0.0 if found is None else found

    def render(self, accept: str = "") -> tuple[bytes, str]:
        """The exposition and its content type, in the format ``accept`` asks for (the text
        format 0.0.4 by default, OpenMetrics when asked)."""
        encoder, content_type = choose_encoder(accept)
        return encoder(self.registry), content_type
