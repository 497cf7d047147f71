"""Latency over time, computed in SQL: per time bucket, checks, failures, p50 and p95.

A window is cut into equal buckets aligned to the UTC epoch (``date_bin``); every bucket that
overlaps the window is answered, empty ones with no checks and null percentiles (no data is
a gap, never a zero). Where the numbers come from depends on the window:

- up to a day: raw results (``check_result``), counted into the histogram's buckets as read;
- longer: the hourly or daily rollups (which hold the current hour and day too, since the
  record statement adds to them), their histograms summed per bucket.

Checks inside maintenance windows are left out (the rollups count them apart), as
``uptime_core.stats`` leaves them out of checks, failures and latency.

Percentiles are placed inside their histogram bucket exactly as ``uptime_core.stats`` places
them (density linear in log-latency, sloped by the neighbouring buckets, clamped to the
bucket's min and max), so a point equals the uptime of the same range.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg

from uptime_core.enums import UptimeWindow
from uptime_core.stats.histogram import bucket_sql, percentile_ctes
from uptime_core.stats.rollups import HISTOGRAM_TABLES, ROLLUP_TABLES


@dataclass(frozen=True)
class SeriesShape:
    """How a window is cut: the source read and the width of one point."""

    source: str  # "raw", "hour" or "day"
    width: timedelta


SHAPES = {
    UptimeWindow.LAST_HOUR: SeriesShape("raw", timedelta(minutes=1)),
    UptimeWindow.LAST_24_HOURS: SeriesShape("raw", timedelta(minutes=15)),
    UptimeWindow.LAST_7_DAYS: SeriesShape("hour", timedelta(hours=1)),
    UptimeWindow.LAST_30_DAYS: SeriesShape("hour", timedelta(hours=6)),
    UptimeWindow.LAST_90_DAYS: SeriesShape("day", timedelta(days=1)),
}


@dataclass(frozen=True)
class LatencyPoint:
    """One bucket of a latency series; percentiles are None without a measured latency."""

    start: datetime
    checks: int
    failures: int
    p50_ms: float | None
    p95_ms: float | None


# $1 target id, $2 width of a point, $3 length of the window.
_POINTS = """
params AS (
    SELECT $2::interval AS width, now() AS hi,
           date_bin($2::interval, now() - $3::interval, timestamptz 'epoch') AS lo
),
points AS (
    SELECT generate_series(p.lo, p.hi, p.width) AS start FROM params AS p
)"""

# Per point: counts and latency bounds (totals), and the non-empty histogram buckets (hist).
_RAW = f"""
raw AS (
    SELECT date_bin(p.width, r.scheduled_for, timestamptz 'epoch') AS start, r.status,
           r.latency_ms,
           CASE WHEN r.latency_ms IS NOT NULL THEN {bucket_sql("r.latency_ms")} END AS b
    FROM params AS p JOIN check_result AS r
      ON r.target_id = $1 AND r.scheduled_for >= p.lo AND r.scheduled_for < p.hi
    WHERE NOT r.in_maintenance  -- neither up nor down, as in the rollups and uptime
),
totals AS (
    SELECT start, count(*) AS checks, count(*) FILTER (WHERE status = 'down') AS failures,
           count(latency_ms) AS latency_count, min(latency_ms) AS latency_min,
           max(latency_ms) AS latency_max
    FROM raw GROUP BY start
),
hist AS (
    SELECT start, b, count(*)::float8 AS c FROM raw WHERE b IS NOT NULL GROUP BY start, b
)"""


def _rollup_source(table: str, histogram: str) -> str:
    return f"""
rollup AS (
    SELECT date_bin(p.width, x.bucket_start, timestamptz 'epoch') AS start, x.*
    FROM params AS p JOIN {table} AS x
      ON x.target_id = $1 AND x.bucket_start >= p.lo AND x.bucket_start < p.hi
),
totals AS (
    SELECT start, sum(up + degraded + down) AS checks, sum(down) AS failures,
           sum(latency_count) AS latency_count, min(latency_min) AS latency_min,
           max(latency_max) AS latency_max
    FROM rollup GROUP BY start
),
hist AS (
    SELECT date_bin(p.width, x.bucket_start, timestamptz 'epoch') AS start, x.bucket AS b,
           sum(x.checks)::float8 AS c
    FROM params AS p JOIN {histogram} AS x
      ON x.target_id = $1 AND x.bucket_start >= p.lo AND x.bucket_start < p.hi
    GROUP BY 1, 2
)"""


# The percentile of each point, placed as uptime_core.stats places it.
_PERCENTILES = f"""
{percentile_ctes("hist", "totals", ["start"], (0.5, 0.95))}
SELECT pt.start, coalesce(t.checks, 0)::bigint AS checks,
       coalesce(t.failures, 0)::bigint AS failures,
       max(i.value) FILTER (WHERE i.q = 0.5) AS p50,
       max(i.value) FILTER (WHERE i.q = 0.95) AS p95
FROM points AS pt
LEFT JOIN totals AS t ON t.start = pt.start
LEFT JOIN interpolated AS i ON i.start = pt.start
GROUP BY pt.start, t.checks, t.failures
ORDER BY pt.start
"""

SERIES_SQL = {
    "raw": f"WITH {_POINTS},{_RAW},{_PERCENTILES}",
    **{
        period: f"WITH {_POINTS},{_rollup_source(table, HISTOGRAM_TABLES[period])},{_PERCENTILES}"
        for period, table in ROLLUP_TABLES.items()
    },
}


async def latency_series(
    connection: asyncpg.Connection | asyncpg.Pool, target_id: int, window: UptimeWindow
) -> list[LatencyPoint]:
    """The target's latency over ``window`` (ending at the database's ``now()``), oldest
    point first; every point of the window is there, empty or not."""
    shape = SHAPES[window]
    rows = await connection.fetch(SERIES_SQL[shape.source], target_id, shape.width, window.value)
    return [
        LatencyPoint(
            start=row["start"],
            checks=int(row["checks"]),
            failures=int(row["failures"]),
            p50_ms=row["p50"],
            p95_ms=row["p95"],
        )
        for row in rows
    ]
