"""What the API's Prometheus exposition (``GET /metrics``) reports, as plain data.

One statement reads every target with its most recent check and its incident counts
(``metrics_targets``); one more computes uptime over the rolling windows for all targets at
once (``stats.uptime.uptime_for_targets``, rollups, no percentiles). The API turns this into
metric families (``uptime_graphql/public/metrics.py``); docs/metrics.md names them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from uptime_core.enums import UptimeWindow
from uptime_core.sql import queries
from uptime_core.stats.uptime import Uptime, uptime_for_targets

# The windows of ``uptime_ratio{window=...}``, by their label.
METRIC_WINDOWS: dict[str, UptimeWindow] = {
    "24h": UptimeWindow.LAST_24_HOURS,
    "7d": UptimeWindow.LAST_7_DAYS,
    "30d": UptimeWindow.LAST_30_DAYS,
}


@dataclass(frozen=True)
class MetricTarget:
    """One target as ``metrics_targets`` reads it; the check columns are None before its
    first check."""

    id: int
    key: str
    name: str
    kind: str
    status: str  # the confirmed state (TargetStatus)
    paused: bool
    check_status: str | None  # the last check's CheckStatus
    finished_at: datetime | None
    latency_ms: float | None
    http_status: int | None
    tls_expires_at: datetime | None
    open_incidents: int
    incidents: int


@dataclass(frozen=True)
class WindowUptime:
    ratio: float | None  # None: no checks in the window
    coverage: float  # share of the window's slots that have a result, 0 .. 1


@dataclass(frozen=True)
class Exposition:
    targets: list[MetricTarget]
    # target id -> window label (METRIC_WINDOWS) -> its uptime
    uptime: dict[int, dict[str, WindowUptime]]


async def read_exposition(pool: asyncpg.Pool) -> Exposition:
    """Every target's last check, incidents and uptime over ``METRIC_WINDOWS``: two queries."""
    async with pool.acquire() as connection:
        rows = await connection.fetch(queries["metrics_targets"])
        targets = [MetricTarget(**dict(row)) for row in rows]
        labels = list(METRIC_WINDOWS)
        computed: dict[int, list[Uptime]] = {}
        if targets:
            computed = await uptime_for_targets(
                connection,
                [t.id for t in targets],
                [METRIC_WINDOWS[label] for label in labels],
                percentiles=[False] * len(labels),
            )
    uptime = {
        target_id: {
            label: WindowUptime(ratio=u.ratio, coverage=u.coverage)
            for label, u in zip(labels, answers, strict=True)
        }
        for target_id, answers in computed.items()
    }
    return Exposition(targets=targets, uptime=uptime)
