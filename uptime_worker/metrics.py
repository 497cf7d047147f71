"""What ``/metrics`` reports for a worker: every series from the start, at 0."""

from __future__ import annotations

from uptime_core.enums import ChannelKind, CheckStatus, ProbeKind
from uptime_core.runtime.metrics import Registry

DELIVERY_OUTCOMES = ("sent", "retried", "failed")


class WorkerMetrics:
    """The metrics of one worker process."""

    def __init__(self) -> None:
        self.registry = Registry()
        self.checks = self.registry.counter(
            "uptime_worker_checks_total",
            "Checks probed, by probe kind and status.",
            {"kind": [k.value for k in ProbeKind], "status": [s.value for s in CheckStatus]},
        )
        self.recorded = self.registry.counter(
            "uptime_worker_results_recorded_total", "Results recorded in the database."
        )
        self.fenced = self.registry.counter(
            "uptime_worker_results_fenced_total",
            "Results not recorded because the lease was lost (expired or taken over).",
        )
        self.released = self.registry.counter(
            "uptime_worker_leases_released_total", "Unstarted slots given back on shutdown."
        )
        self.lag = self.registry.histogram(
            "uptime_worker_schedule_lag_seconds",
            "Delay between a slot's time and the start of its check.",
            [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
        )
        batch_buckets = [1.0, 2, 5, 10, 20, 50, 100, 200, 500]
        self.claim_batch = self.registry.histogram(
            "uptime_worker_claim_batch_size", "Slots per claim.", batch_buckets
        )
        self.record_batch = self.registry.histogram(
            "uptime_worker_record_batch_size", "Outcomes per recording statement.", batch_buckets
        )
        self.in_flight = self.registry.gauge("uptime_worker_in_flight", "Probes running now.")
        self.statements = self.registry.counter(
            "uptime_worker_database_statements_total",
            "Statements sent to the database (each one round trip), retries included.",
        )
        self.deliveries = self.registry.counter(
            "uptime_worker_deliveries_total",
            "Notification attempts by channel kind and outcome (sent, retried, failed).",
            {"kind": [k.value for k in ChannelKind], "outcome": list(DELIVERY_OUTCOMES)},
        )
        self.database_up = self.registry.gauge(
            "uptime_worker_database_up",
            "1 while every statement of the worker succeeds; 0 while the database is "
            "unreachable, restarting or cannot write (an outage).",
        )
        self.database_writable = self.registry.gauge(
            "uptime_worker_database_writable",
            "1 while results can be recorded; 0 while recording them fails (database away, "
            "disk full, read-only).",
        )
        self.outages = self.registry.counter(
            "uptime_worker_database_outages_total",
            "Database outages this worker went through (each logged once when it starts).",
        )
