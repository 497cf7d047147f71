"""Uptime over a window, as ``uptime_core.stats`` computes it."""

from __future__ import annotations

import strawberry

from uptime_core.stats import uptime as stats_uptime
from uptime_graphql.types.enums import UptimeWindow


@strawberry.type(description="Latency over a window, in milliseconds; null without data.")
class LatencyStats:
    avg_ms: float | None
    min_ms: float | None
    max_ms: float | None
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None


@strawberry.type(description="What is known of a target over a window.")
class Uptime:
    window: UptimeWindow
    ratio: float | None = strawberry.field(
        description="Passing checks over checks (DEGRADED passes); null without checks."
    )
    coverage: float = strawberry.field(
        description="Recorded slots over the slots the interval expects, from 0 to 1."
    )
    checks: int
    failures: int
    downtime_seconds: float = strawberry.field(
        description="Seconds inside incidents, clipped to the window, less maintenance."
    )
    maintenance_checks: int = strawberry.field(
        description="Checks inside maintenance windows: counted in coverage, not in checks, "
        "ratio or latency."
    )
    latency: LatencyStats | None

    @classmethod
    def from_stats(cls, window: UptimeWindow, answer: stats_uptime.Uptime) -> Uptime:
        latency = None
        if answer.latency is not None:
            latency = LatencyStats(
                avg_ms=answer.latency.avg_ms,
                min_ms=answer.latency.min_ms,
                max_ms=answer.latency.max_ms,
                p50_ms=answer.latency.p50_ms,
                p95_ms=answer.latency.p95_ms,
                p99_ms=answer.latency.p99_ms,
            )
        return cls(
            window=window,
            ratio=answer.ratio,
            coverage=answer.coverage,
            checks=answer.checks,
            failures=answer.failures,
            downtime_seconds=answer.downtime_seconds,
            maintenance_checks=answer.maintenance,
            latency=latency,
        )
