"""Uptime statistics, computed in SQL: ratio, coverage, downtime and latency percentiles.

Where a window's numbers come from:

- raw results (``check_result``) for the parts of the window that are not whole hours;
- the hourly rollup for whole hours that are not part of a whole (UTC) day;
- the daily rollup for whole days.

A window that ends now (every rolling window) reads the current hour and today from the
rollups as well: they hold everything recorded so far, and no slot after now is recorded. So
"last 24 hours" is a couple of hourly rows and today's daily row per target, not 24 rows and
the raw results of the current hour. Several windows in one query read each piece once (the
dashboard's 24 h, 7 d and 30 d share today and 7 d and 30 d the six days before).

Rollups hold counts, latency sum, min and max, and a histogram of latencies in
``HISTOGRAM_BUCKETS`` log-spaced buckets; raw rows are counted into the same buckets when read,
so a window gives the same answer whichever source covers it. Percentiles are interpolated
within their bucket (see ``UPTIME_SQL``) and clamped to the window's min and max: on
log-normal latencies they land within about 1 % of the exact value (docs/architecture.md
has the figures). No data is ``None``: never a ratio of 0 or 100 %.

``docs/sql/uptime.sql`` is ``UPTIME_SQL`` whole, as PostgreSQL receives it (``make sql``).

Rolling windows end at the database's ``now()``. Windows of a day or more start at the
beginning of the hour they would start in, so that they come from rollups alone (a "last 7
days" window is 7 days and up to one hour long).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg

from uptime_core.enums import UptimeWindow
from uptime_core.maintenance import maintenance_ranges_sql
from uptime_core.sql import queries
from uptime_core.stats.histogram import bucket_sql, percentile_ctes
from uptime_core.stats.rollups import HISTOGRAM_TABLES, ROLLUP_TABLES


@dataclass(frozen=True)
class Range:
    """A fixed window [start, end)."""

    start: datetime
    end: datetime


Window = UptimeWindow | Range


@dataclass(frozen=True)
class LatencyStats:
    avg_ms: float
    min_ms: float
    max_ms: float
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None


@dataclass(frozen=True)
class Uptime:
    """What is known of one target over one window."""

    start: datetime
    end: datetime
    checks: int
    failures: int
    ratio: float | None  # passing checks / checks; None without checks
    coverage: float  # recorded slots / expected slots, 0 .. 1
    downtime_seconds: float  # time inside incidents, time-weighted, less maintenance
    latency: LatencyStats | None  # None without a measured latency
    # Checks recorded inside maintenance windows: in coverage, not in checks, ratio or latency.
    maintenance: int = 0


def _rollup_rows(columns: str, *, histogram: bool) -> str:
    """Rows of both rollup tables (of both histogram tables, if ``histogram``: only in the
    segments that want a histogram) inside the segments that read them, with the segment's
    id."""
    wanted = "AND s.want_histogram" if histogram else ""
    tables = HISTOGRAM_TABLES if histogram else ROLLUP_TABLES
    return " UNION ALL ".join(
        f"""
        SELECT s.id, x.target_id, {columns}
        FROM segment AS s JOIN {table} AS x
          ON s.source = '{source}' {wanted} AND x.target_id = ANY($1::bigint[])
         AND x.bucket_start >= s.lo AND x.bucket_start < s.hi"""
        for source, table in tables.items()
    )


# $1 target ids; per window: $2 fixed start, $3 fixed end, $4 rolling length (s), $5 snap the
# start to its hour, $7 whether to compute percentiles; $6 whether rollups may be read (False:
# raw only, for checks and benchmarks).
#
# win: each window's bounds, its whole hours and whole days (UTC). A window that ends now or
# later reads the current hour and today from the rollups too: they hold everything recorded so
# far, and nothing is recorded for a slot after now. seg: the window cut into raw edges, hourly
# and daily parts. cut, piece, segment: those parts cut again where another window's part
# starts or ends, so that each piece is read once however many windows cover it (24 h, 7 d and
# 30 d share today, 7 d and 30 d the six days before). covers: which windows cover a segment.
# raw: raw results per segment, target and histogram bucket. parts, totals: counts and latency
# per window and target. histogram: the non-empty buckets per window and target, one row
# each, from raw results and the histogram tables, where the window wants percentiles.
# running, quantile, interpolated: each percentile placed in its bucket (see percentile_ctes).
UPTIME_SQL = f"""
WITH given AS (
    SELECT n, want_percentiles,
           coalesce(fixed_lo, CASE WHEN snap THEN date_trunc('hour', now() - rolling, 'UTC')
                                   ELSE now() - rolling END) AS lo,
           coalesce(fixed_hi, now()) AS hi
    FROM unnest($2::timestamptz[], $3::timestamptz[], $4::float8[], $5::bool[], $7::bool[])
         WITH ORDINALITY AS u(fixed_lo, fixed_hi, rolling_seconds, snap, want_percentiles, n),
         make_interval(secs => coalesce(rolling_seconds, 0)) AS rolling
),
win AS (
    SELECT n, lo, hi, want_percentiles,
           CASE WHEN $6 THEN date_trunc('hour', lo + interval '1 hour' - interval '1 microsecond',
                                        'UTC') ELSE hi END AS h_lo,
           CASE WHEN $6 THEN date_trunc('hour', open_hi, 'UTC') ELSE hi END AS h_hi,
           CASE WHEN $6 THEN date_trunc('day', lo + interval '1 day' - interval '1 microsecond',
                                        'UTC') ELSE hi END AS d_lo,
           CASE WHEN $6 THEN date_trunc('day', open_hi, 'UTC') ELSE hi END AS d_hi
    FROM given
    CROSS JOIN LATERAL (
        SELECT CASE WHEN hi >= now()
                    THEN greatest(hi, date_trunc('day', now(), 'UTC') + interval '1 day')
                    ELSE hi END
    ) AS open(open_hi)
),
seg AS (
    SELECT w.n, s.source, s.lo, s.hi
    FROM win AS w
    CROSS JOIN LATERAL (VALUES
        ('raw', w.lo, CASE WHEN w.h_lo < w.h_hi THEN w.h_lo ELSE w.hi END),
        ('raw', CASE WHEN w.h_lo < w.h_hi THEN w.h_hi ELSE w.hi END, w.hi),
        ('hour', w.h_lo, CASE WHEN w.d_lo <= w.d_hi THEN w.d_lo ELSE w.h_hi END),
        ('hour', CASE WHEN w.d_lo <= w.d_hi THEN w.d_hi ELSE w.h_hi END, w.h_hi),
        ('day', w.d_lo, w.d_hi)
    ) AS s(source, lo, hi)
    WHERE s.lo < s.hi
),
cut AS (
    SELECT source, lo AS at FROM seg
    UNION
    SELECT source, hi FROM seg
),
piece AS (
    SELECT source, at AS lo, lead(at) OVER (PARTITION BY source ORDER BY at) AS hi FROM cut
),
segment AS (
    SELECT row_number() OVER () AS id, p.source, p.lo, p.hi,
           bool_or(w.want_percentiles) AS want_histogram
    FROM piece AS p
    JOIN seg ON seg.source = p.source AND seg.lo <= p.lo AND p.hi <= seg.hi
    JOIN win AS w ON w.n = seg.n
    GROUP BY p.source, p.lo, p.hi
),
covers AS (
    SELECT s.id, w.n, w.want_percentiles
    FROM segment AS s
    JOIN seg ON seg.source = s.source AND seg.lo <= s.lo AND s.hi <= seg.hi
    JOIN win AS w ON w.n = seg.n
),
raw AS (
    -- Checks inside maintenance windows count only as maintenance: no status, no latency.
    SELECT s.id, r.target_id,
           CASE WHEN r.latency_ms IS NOT NULL AND NOT r.in_maintenance
                THEN {bucket_sql("r.latency_ms")} END AS bucket,
           count(*) FILTER (WHERE NOT r.in_maintenance) AS checks,
           count(*) FILTER (WHERE r.status = 'down' AND NOT r.in_maintenance) AS failures,
           count(r.latency_ms) FILTER (WHERE NOT r.in_maintenance) AS latency_count,
           coalesce(sum(r.latency_ms) FILTER (WHERE NOT r.in_maintenance), 0) AS latency_sum,
           min(r.latency_ms) FILTER (WHERE NOT r.in_maintenance) AS latency_min,
           max(r.latency_ms) FILTER (WHERE NOT r.in_maintenance) AS latency_max,
           count(*) FILTER (WHERE r.in_maintenance) AS maintenance
    FROM segment AS s JOIN check_result AS r
      ON s.source = 'raw' AND r.target_id = ANY($1::bigint[])
     AND r.scheduled_for >= s.lo AND r.scheduled_for < s.hi
    GROUP BY s.id, r.target_id, 3
),
parts AS (
    SELECT id, target_id, sum(checks) AS checks, sum(failures) AS failures,
           sum(latency_count) AS latency_count, sum(latency_sum) AS latency_sum,
           min(latency_min) AS latency_min, max(latency_max) AS latency_max,
           sum(maintenance) AS maintenance
    FROM raw
    GROUP BY id, target_id
    UNION ALL
    SELECT id, target_id, sum(up + degraded + down), sum(down), sum(latency_count),
           sum(latency_sum), min(latency_min), max(latency_max), sum(maintenance)
    FROM ({
    _rollup_rows(
        "x.up, x.degraded, x.down, x.latency_count, x.latency_sum, x.latency_min, x.latency_max,"
        " x.maintenance",
        histogram=False,
    )
}) AS x
    GROUP BY id, target_id
),
totals AS (
    SELECT c.n, p.target_id, sum(p.checks)::bigint AS checks,
           sum(p.failures)::bigint AS failures, sum(p.latency_count)::bigint AS latency_count,
           sum(p.latency_sum) AS latency_sum, min(p.latency_min) AS latency_min,
           max(p.latency_max) AS latency_max, sum(p.maintenance)::bigint AS maintenance
    FROM parts AS p JOIN covers AS c ON c.id = p.id
    GROUP BY c.n, p.target_id
),
histogram AS (
    SELECT n, target_id, b, sum(c)::float8 AS c
    FROM (
        SELECT c.n, r.target_id, r.bucket AS b, r.latency_count AS c
        FROM raw AS r JOIN covers AS c ON c.id = r.id AND c.want_percentiles
        WHERE r.bucket IS NOT NULL
        UNION ALL
        SELECT c.n, x.target_id, x.bucket, x.checks
        FROM ({_rollup_rows("x.bucket, x.checks", histogram=True)}) AS x
        JOIN covers AS c ON c.id = x.id AND c.want_percentiles
    ) AS h
    GROUP BY n, target_id, b
),
{percentile_ctes("histogram", "totals", ["n", "target_id"], (0.5, 0.95, 0.99))},
percentiles AS (
    SELECT n, target_id,
           max(value) FILTER (WHERE q = 0.5) AS p50,
           max(value) FILTER (WHERE q = 0.95) AS p95,
           max(value) FILTER (WHERE q = 0.99) AS p99
    FROM interpolated
    GROUP BY n, target_id
)
SELECT tg.id AS target_id, w.n, w.lo, w.hi,
       coalesce(t.checks, 0)::bigint AS checks, coalesce(t.failures, 0)::bigint AS failures,
       coalesce(t.latency_count, 0)::bigint AS latency_count, t.latency_sum, t.latency_min,
       t.latency_max, coalesce(t.maintenance, 0)::bigint AS maintenance,
       ceil(greatest(0, extract(epoch FROM w.hi - greatest(w.lo, tg.created_at)))
            / tg.interval_seconds) AS expected,
       -- Incident time clipped to the window, less the time inside maintenance windows.
       (SELECT coalesce(sum(extract(epoch FROM upper(part) - lower(part))), 0)
        FROM incident AS i
        CROSS JOIN LATERAL (
            SELECT greatest(i.started_at, w.lo) AS lo,
                   least(coalesce(i.resolved_at, now()), w.hi) AS hi
        ) AS clipped
        CROSS JOIN LATERAL unnest(
            tstzmultirange(tstzrange(clipped.lo, greatest(clipped.lo, clipped.hi)))
            - {maintenance_ranges_sql("tg.id", "clipped.lo", "greatest(clipped.lo, clipped.hi)")}
        ) AS part
        WHERE i.target_id = tg.id AND i.started_at < w.hi
          AND coalesce(i.resolved_at, 'infinity') > w.lo) AS downtime_seconds,
       p.p50, p.p95, p.p99
FROM target AS tg
CROSS JOIN win AS w
LEFT JOIN totals AS t ON t.target_id = tg.id AND t.n = w.n
LEFT JOIN percentiles AS p ON p.target_id = tg.id AND p.n = w.n
WHERE tg.id = ANY($1::bigint[])
ORDER BY tg.id, w.n
"""


async def uptime_for_targets(
    connection: asyncpg.Connection | asyncpg.Pool,
    target_ids: list[int],
    windows: list[Window],
    *,
    use_rollups: bool = True,
    percentiles: list[bool] | None = None,
) -> dict[int, list[Uptime]]:
    """For each target, one ``Uptime`` per window (in the order given), in one query.

    ``percentiles`` says per window whether to compute p50/p95/p99 (default: for all); a
    dashboard that shows p95 for one window saves the rest. ``use_rollups=False`` reads raw
    results only: the answer is the same wherever raw results still exist, which the tests and
    the benchmark check.
    """
    starts: list[datetime | None] = []
    ends: list[datetime | None] = []
    rolling: list[float | None] = []
    snap: list[bool] = []
    for window in windows:
        if isinstance(window, Range):
            starts.append(window.start)
            ends.append(window.end)
            rolling.append(None)
            snap.append(False)
        else:
            starts.append(None)
            ends.append(None)
            rolling.append(window.value.total_seconds())
            snap.append(window.value >= timedelta(days=1))
    wanted = percentiles if percentiles is not None else [True] * len(windows)
    arguments = (target_ids, starts, ends, rolling, snap, use_rollups, wanted)
    if isinstance(connection, asyncpg.Pool):
        async with connection.acquire() as acquired:
            rows = await _fetch_uptime(acquired, arguments)
    else:
        rows = await _fetch_uptime(connection, arguments)
    answers: dict[int, list[Uptime]] = {}
    for row in rows:
        answers.setdefault(row["target_id"], []).append(_uptime(row))
    return answers


async def _fetch_uptime(
    connection: asyncpg.Connection, arguments: tuple[object, ...]
) -> list[asyncpg.Record]:
    # Planning this statement takes longer than running it, and its best plan hardly depends
    # on the arguments: use the generic plan (the statement stays prepared on the connection).
    async with connection.transaction():
        await connection.execute(queries["use_generic_plan"])
        rows: list[asyncpg.Record] = await connection.fetch(UPTIME_SQL, *arguments)
    return rows


async def uptime_for_window(
    connection: asyncpg.Connection | asyncpg.Pool,
    target_id: int,
    window: Window,
    *,
    use_rollups: bool = True,
) -> Uptime | None:
    """One target over one window; None if there is no such target."""
    answers = await uptime_for_targets(connection, [target_id], [window], use_rollups=use_rollups)
    return answers[target_id][0] if target_id in answers else None


def _uptime(row: asyncpg.Record) -> Uptime:
    checks = int(row["checks"])
    failures = int(row["failures"])
    maintenance = int(row["maintenance"])
    expected = float(row["expected"] or 0)
    latency = None
    if row["latency_count"]:
        # Percentiles are None where they were not asked for.
        latency = LatencyStats(
            avg_ms=row["latency_sum"] / row["latency_count"],
            min_ms=row["latency_min"],
            max_ms=row["latency_max"],
            p50_ms=row["p50"],
            p95_ms=row["p95"],
            p99_ms=row["p99"],
        )
    return Uptime(
        start=row["lo"],
        end=row["hi"],
        checks=checks,
        failures=failures,
        ratio=(checks - failures) / checks if checks else None,
        coverage=min(1.0, (checks + maintenance) / expected) if expected > 0 else 0.0,
        downtime_seconds=float(row["downtime_seconds"]),
        latency=latency,
        maintenance=maintenance,
    )
