"""Rollups: hourly and daily counts, latency sums and histograms per target, upserted by the
record statement for the rows it inserts, and rebuilt from raw results by
``uptime stats rebuild``.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg

from uptime_core.retention import existing_partitions
from uptime_core.sql import queries
from uptime_core.stats.histogram import HISTOGRAM_BUCKETS, HISTOGRAM_COLUMNS, bucket_sql

ROLLUP_TABLES = {"hour": "check_rollup_hourly", "day": "check_rollup_daily"}

_COUNTED_COLUMNS = ["up", "degraded", "down", "latency_count", "latency_sum"]


def rollup_upsert_sql(
    period: str, source: str, table: str | None = None, *, maintenance: bool = False
) -> str:
    """An ``INSERT ... ON CONFLICT`` adding the rows of ``source`` (a relation with target_id,
    scheduled_for, status, latency_ms) to the ``period`` rollup (``hour`` or ``day``), or to
    ``table`` shaped like it.

    With ``maintenance``, ``source`` also has ``in_maintenance``: those rows count only in the
    ``maintenance`` column (neither up nor down, no latency). Without it every row counts as
    its status (for sources that predate maintenance windows, such as migration 0003)."""
    table = table or ROLLUP_TABLES[period]

    def kept(column: str) -> str:
        return f"CASE WHEN NOT in_maintenance THEN {column} END" if maintenance else column

    extra = ["maintenance"] if maintenance else []
    keys_and_totals = ["target_id", "bucket_start", *_COUNTED_COLUMNS, "latency_min"]
    inserted = textwrap.fill(
        ", ".join([*keys_and_totals, "latency_max", *HISTOGRAM_COLUMNS, *extra]),
        width=96,
        initial_indent="    ",
        subsequent_indent="    ",
    )
    selected = ",\n       ".join(
        [
            "target_id",
            f"date_trunc('{period}', scheduled_for, 'UTC')",
            "count(*) FILTER (WHERE status = 'up')",
            "count(*) FILTER (WHERE status = 'degraded')",
            "count(*) FILTER (WHERE status = 'down')",
            "count(latency_ms), coalesce(sum(latency_ms), 0), min(latency_ms), max(latency_ms)",
        ]
        + [
            f"count(*) FILTER (WHERE latency_ms IS NOT NULL AND bucket = {i})"
            for i in range(HISTOGRAM_BUCKETS)
        ]
        + (["count(*) FILTER (WHERE in_maintenance)"] if maintenance else [])
    )
    read = ",\n             ".join(
        [
            "target_id, scheduled_for",
            f"{kept('status')} AS status",
            f"{kept('latency_ms')} AS latency_ms",
            f"{bucket_sql(kept('latency_ms'))}\n                 AS bucket",
            *(["in_maintenance"] if maintenance else []),
        ]
    )
    columns = _COUNTED_COLUMNS + HISTOGRAM_COLUMNS + extra
    added = ",\n    ".join(
        [f"{c} = r.{c} + excluded.{c}" for c in columns]
        + [
            "latency_min = least(r.latency_min, excluded.latency_min)",
            "latency_max = greatest(r.latency_max, excluded.latency_max)",
        ]
    )
    return f"""
INSERT INTO {table} AS r (
{inserted})
SELECT {selected}
FROM (SELECT {read}
      FROM {source}) AS s
GROUP BY 1, 2
ON CONFLICT (target_id, bucket_start) DO UPDATE SET
    {added}
"""


_EXACT = [
    "up",
    "degraded",
    "down",
    "maintenance",
    "latency_count",
    "latency_min",
    "latency_max",
    *HISTOGRAM_COLUMNS,
]
# Rows differ when one is missing, a count or bound differs, or the latency sums differ by
# more than floating-point addition in another order can explain.
_ROLLUPS_DIFFER = (
    "f.target_id IS NULL OR r.target_id IS NULL"
    f" OR ({', '.join('f.' + c for c in _EXACT)})"
    f" IS DISTINCT FROM ({', '.join('r.' + c for c in _EXACT)})"
    " OR abs(f.latency_sum - r.latency_sum) > 1e-9 * greatest(1, abs(r.latency_sum))"
)


def rebuild_upsert_sql(period: str) -> str:
    """The upsert ``rebuild_rollups`` runs per period: the raw results from ``$1`` into the
    temporary table ``fresh_<period>`` (docs/sql/rollup_hourly.sql and rollup_daily.sql)."""
    source = (
        "(SELECT target_id, scheduled_for, status, latency_ms, in_maintenance "
        "FROM check_result "
        "WHERE scheduled_for >= $1::timestamptz) AS raw"
    )
    return rollup_upsert_sql(period, source, f"fresh_{period}", maintenance=True)


@dataclass(frozen=True)
class RebuildReport:
    """What ``rebuild_rollups`` found: buckets recomputed, and how many differed from the
    stored ones (changed, missing from the rollup, or present without raw results)."""

    period: str
    since: datetime
    buckets: int
    differed: int


async def rebuild_rollups(connection: asyncpg.Connection, since: datetime) -> list[RebuildReport]:
    """Recompute the rollups from raw results for buckets from ``since`` (a UTC midnight, at
    the earliest where raw results still exist) and replace them; report the differences.

    Locks the rollup tables while it works, so workers' recording waits instead of racing.
    """
    days = await existing_partitions(connection)
    if days:
        earliest = datetime.combine(min(days), datetime.min.time(), tzinfo=UTC)
        since = max(since, earliest)
    reports = []
    async with connection.transaction():
        await connection.execute(queries["lock_rollups"])
        for period, table in ROLLUP_TABLES.items():
            await connection.execute(
                f"CREATE TEMP TABLE fresh_{period} (LIKE {table} INCLUDING DEFAULTS) ON COMMIT DROP"
            )
            await connection.execute(
                f"ALTER TABLE fresh_{period} ADD PRIMARY KEY (target_id, bucket_start)"
            )
            await connection.execute(rebuild_upsert_sql(period), since)
            buckets = await connection.fetchval(f"SELECT count(*) FROM fresh_{period}")
            differed = await connection.fetchval(
                f"""
                SELECT count(*)
                FROM fresh_{period} AS f
                FULL JOIN (SELECT * FROM {table} WHERE bucket_start >= $1) AS r
                  USING (target_id, bucket_start)
                WHERE {_ROLLUPS_DIFFER}
                """,
                since,
            )
            await connection.execute(f"DELETE FROM {table} WHERE bucket_start >= $1", since)
            await connection.execute(f"INSERT INTO {table} SELECT * FROM fresh_{period}")
            reports.append(RebuildReport(period, since, buckets, differed))
    return reports
