"""Rollups: hourly and daily counts and latency sums per target, and the latency histogram per
target, period and bucket, upserted by the record statement for the rows it inserts, and
rebuilt from raw results by ``uptime stats rebuild``.

The histogram is narrow: one row per (target, period, bucket) that holds a latency, in its own
table, so that a check adds one to one small row instead of rewriting sixty histogram columns
(docs/scaling.md has what that saved); readers get the (bucket, count) rows that
``percentile_ctes`` places percentiles in, without unpivoting.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg

from uptime_core.retention import existing_partitions
from uptime_core.sql import queries
from uptime_core.stats.histogram import HISTOGRAM_COLUMNS, bucket_sql

ROLLUP_TABLES = {"hour": "check_rollup_hourly", "day": "check_rollup_daily"}
HISTOGRAM_TABLES = {"hour": "check_histogram_hourly", "day": "check_histogram_daily"}

_COUNTED_COLUMNS = ["up", "degraded", "down", "latency_count", "latency_sum"]


def _kept(column: str, maintenance: bool) -> str:
    """A source column as the rollups count it: nothing inside a maintenance window."""
    return f"CASE WHEN NOT in_maintenance THEN {column} END" if maintenance else column


def rollup_upsert_sql(
    period: str,
    source: str,
    table: str | None = None,
    *,
    maintenance: bool = False,
    histogram_columns: bool = False,
) -> str:
    """An ``INSERT ... ON CONFLICT`` adding the rows of ``source`` (a relation with target_id,
    scheduled_for, status, latency_ms) to the ``period`` rollup (``hour`` or ``day``), or to
    ``table`` shaped like it: counts and latency totals (the histogram is
    ``histogram_upsert_sql``).

    With ``maintenance``, ``source`` also has ``in_maintenance``: those rows count only in the
    ``maintenance`` column (neither up nor down, no latency). Without it every row counts as
    its status (for sources that predate maintenance windows, such as migration 0003).
    ``histogram_columns`` adds the sixty histogram columns ``h00`` .. ``h59`` the rollup tables
    had from migration 0003 to 0007 (for migration 0003 only)."""
    table = table or ROLLUP_TABLES[period]
    histogram = HISTOGRAM_COLUMNS if histogram_columns else []
    extra = ["maintenance"] if maintenance else []
    keys_and_totals = ["target_id", "bucket_start", *_COUNTED_COLUMNS, "latency_min"]
    inserted = textwrap.fill(
        ", ".join([*keys_and_totals, "latency_max", *histogram, *extra]),
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
            for i in range(len(histogram))
        ]
        + (["count(*) FILTER (WHERE in_maintenance)"] if maintenance else [])
    )
    read = ",\n             ".join(
        [
            "target_id, scheduled_for",
            f"{_kept('status', maintenance)} AS status",
            f"{_kept('latency_ms', maintenance)} AS latency_ms",
            *(
                [f"{bucket_sql(_kept('latency_ms', maintenance))}\n                 AS bucket"]
                if histogram
                else []
            ),
            *(["in_maintenance"] if maintenance else []),
        ]
    )
    columns = _COUNTED_COLUMNS + histogram + extra
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


def histogram_upsert_sql(
    period: str, source: str, table: str | None = None, *, maintenance: bool = False
) -> str:
    """An ``INSERT ... ON CONFLICT`` adding the latencies of ``source`` (as for
    ``rollup_upsert_sql``) to the ``period`` histogram, or to ``table`` shaped like it: one row
    per target, period and bucket (0 .. HISTOGRAM_BUCKETS-1) with a latency in it."""
    table = table or HISTOGRAM_TABLES[period]
    latency = _kept("latency_ms", maintenance)
    return f"""
INSERT INTO {table} AS r (target_id, bucket_start, bucket, checks)
SELECT target_id, date_trunc('{period}', scheduled_for, 'UTC'), {bucket_sql(latency)}, count(*)
FROM {source}
WHERE {latency} IS NOT NULL
GROUP BY 1, 2, 3
ON CONFLICT (target_id, bucket_start, bucket) DO UPDATE SET checks = r.checks + excluded.checks
"""


def rollup_ctes(source: str, *, maintenance: bool = True) -> str:
    """The four CTEs (``hourly``, ``hourly_histogram``, ``daily``, ``daily_histogram``) that add
    the rows of ``source`` to the rollups, for a statement that records results."""
    return ",\n".join(
        f"{name} AS ({sql})"
        for name, sql in [
            ("hourly", rollup_upsert_sql("hour", source, maintenance=maintenance)),
            ("hourly_histogram", histogram_upsert_sql("hour", source, maintenance=maintenance)),
            ("daily", rollup_upsert_sql("day", source, maintenance=maintenance)),
            ("daily_histogram", histogram_upsert_sql("day", source, maintenance=maintenance)),
        ]
    )


_EXACT = ["up", "degraded", "down", "maintenance", "latency_count", "latency_min", "latency_max"]
# Rows differ when one is missing, a count or bound differs, or the latency sums differ by
# more than floating-point addition in another order can explain.
_ROLLUPS_DIFFER = (
    "f.target_id IS NULL OR r.target_id IS NULL"
    f" OR ({', '.join('f.' + c for c in _EXACT)})"
    f" IS DISTINCT FROM ({', '.join('r.' + c for c in _EXACT)})"
    " OR abs(f.latency_sum - r.latency_sum) > 1e-9 * greatest(1, abs(r.latency_sum))"
)


def rebuild_upsert_sql(period: str) -> str:
    """The statement ``rebuild_rollups`` runs per period: the raw results from ``$1`` into the
    temporary tables ``fresh_<period>`` (counts) and ``fresh_histogram_<period>``
    (docs/sql/rollup_hourly.sql and rollup_daily.sql)."""
    source = (
        "(SELECT target_id, scheduled_for, status, latency_ms, in_maintenance "
        "FROM check_result "
        "WHERE scheduled_for >= $1::timestamptz) AS raw"
    )
    counts = rollup_upsert_sql(period, source, f"fresh_{period}", maintenance=True)
    histogram = histogram_upsert_sql(period, source, f"fresh_histogram_{period}", maintenance=True)
    return f"WITH counts AS ({counts}),\nhistogram AS ({histogram})\nSELECT 1"


@dataclass(frozen=True)
class RebuildReport:
    """What ``rebuild_rollups`` found: buckets recomputed, and how many differed from the
    stored ones (changed, missing from the rollup, or present without raw results; counts or
    histogram)."""

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
            histogram = HISTOGRAM_TABLES[period]
            for fresh, stored in (
                (f"fresh_{period}", table),
                (f"fresh_histogram_{period}", histogram),
            ):
                await connection.execute(
                    f"CREATE TEMP TABLE {fresh} (LIKE {stored} INCLUDING DEFAULTS) ON COMMIT DROP"
                )
            await connection.execute(
                f"ALTER TABLE fresh_{period} ADD PRIMARY KEY (target_id, bucket_start)"
            )
            await connection.execute(
                f"ALTER TABLE fresh_histogram_{period} "
                "ADD PRIMARY KEY (target_id, bucket_start, bucket)"
            )
            await connection.execute(rebuild_upsert_sql(period), since)
            buckets = await connection.fetchval(f"SELECT count(*) FROM fresh_{period}")
            differed = await connection.fetchval(
                f"""
                SELECT count(*) FROM (
                    SELECT target_id, bucket_start
                    FROM fresh_{period} AS f
                    FULL JOIN (SELECT * FROM {table} WHERE bucket_start >= $1) AS r
                      USING (target_id, bucket_start)
                    WHERE {_ROLLUPS_DIFFER}
                    UNION
                    SELECT target_id, bucket_start
                    FROM fresh_histogram_{period} AS f
                    FULL JOIN (SELECT * FROM {histogram} WHERE bucket_start >= $1) AS r
                      USING (target_id, bucket_start, bucket)
                    WHERE f.checks IS DISTINCT FROM r.checks
                ) AS differing
                """,
                since,
            )
            for fresh, stored in (
                (f"fresh_{period}", table),
                (f"fresh_histogram_{period}", histogram),
            ):
                await connection.execute(f"DELETE FROM {stored} WHERE bucket_start >= $1", since)
                await connection.execute(f"INSERT INTO {stored} SELECT * FROM {fresh}")
            reports.append(RebuildReport(period, since, buckets, differed))
    return reports
