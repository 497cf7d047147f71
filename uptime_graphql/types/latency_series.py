"""One point of a target's latency series, as ``uptime_core.series`` computes it."""

from __future__ import annotations

from datetime import datetime

import strawberry

from uptime_core.stats import series


@strawberry.type(description="Latency and failures in one time bucket; null without data.")
class LatencyPoint:
    start: datetime = strawberry.field(description="The start of the bucket.")
    checks: int
    failures: int
    p50_ms: float | None
    p95_ms: float | None

    @classmethod
    def from_point(cls, point: series.LatencyPoint) -> LatencyPoint:
        return cls(
            start=point.start,
            checks=point.checks,
            failures=point.failures,
            p50_ms=point.p50_ms,
            p95_ms=point.p95_ms,
        )
