"""The latency histogram: 60 log-spaced buckets from 0.5 ms to 30 s, stored as one row per
target, period and non-empty bucket in ``check_histogram_hourly`` and ``check_histogram_daily``
(migration 0007; until then the columns ``h00`` .. ``h59`` of both rollup tables), and the SQL
that places a percentile inside its bucket. The floor of the statistics: ``models``,
``rollups``, ``uptime`` and ``series`` all import it, and it imports nothing of ours.
"""

from __future__ import annotations

import math

HISTOGRAM_BUCKETS = 60
# Bucket 0 holds latencies under HISTOGRAM_LOW_MS, the last one those of HISTOGRAM_HIGH_MS and
# over; the 58 between are log-spaced (each about 21 % wider than the one before).
HISTOGRAM_LOW_MS = 0.5
HISTOGRAM_HIGH_MS = 30_000.0
_INNER = HISTOGRAM_BUCKETS - 2
_RATIO = (HISTOGRAM_HIGH_MS / HISTOGRAM_LOW_MS) ** (1 / _INNER)
# The rollup tables' histogram columns from migration 0003 to 0007 (the migrations use them).
HISTOGRAM_COLUMNS = [f"h{i:02d}" for i in range(HISTOGRAM_BUCKETS)]


def bucket_sql(latency: str) -> str:
    """SQL for the histogram bucket (0 .. HISTOGRAM_BUCKETS-1) of a latency in ms."""
    return (
        f"width_bucket(ln(greatest({latency}, 1e-6)), {math.log(HISTOGRAM_LOW_MS)!r}, "
        f"{math.log(HISTOGRAM_HIGH_MS)!r}, {_INNER})"
    )


def bucket_bounds(index: int) -> tuple[float, float]:
    """The [lower, upper) latency bounds of a bucket, in ms (0 and infinity at the ends)."""
    if index == 0:
        return 0.0, HISTOGRAM_LOW_MS
    if index == HISTOGRAM_BUCKETS - 1:
        return HISTOGRAM_HIGH_MS, math.inf
    return HISTOGRAM_LOW_MS * _RATIO ** (index - 1), HISTOGRAM_LOW_MS * _RATIO**index


_LAST = HISTOGRAM_BUCKETS - 1


def percentile_ctes(
    histogram: str, totals: str, keys: list[str], quantiles: tuple[float, ...]
) -> str:
    """Three CTEs, ``running``, ``quantile`` and ``interpolated`` (columns: ``keys``, q,
    value), placing each quantile of each group inside its histogram bucket.

    ``histogram`` has ``keys``, b (the bucket, 0 .. HISTOGRAM_BUCKETS-1) and c (its count, only
    non-empty buckets); ``totals`` has ``keys``, latency_count, latency_min and latency_max.
    The bucket holding the q-th rank is the one whose running count first reaches it; inside
    it the density is taken as linear in log-latency, sloped as the neighbouring buckets
    suggest (never negative), and the percentile is where its integral reaches q; clamped to
    the group's min and max.
    """
    by = ", ".join(f"h.{k}" for k in keys)
    on = " AND ".join(f"t.{k} = h.{k}" for k in keys)
    values = ", ".join(f"({q!r}::float8)" for q in quantiles)
    return f"""
running AS (
    -- Only the non-empty buckets: they alone move the running count.
    SELECT {by}, h.b, h.c, t.latency_count, t.latency_min, t.latency_max,
           sum(h.c) OVER w AS cum,
           CASE WHEN lag(h.b) OVER w = h.b - 1 THEN lag(h.c) OVER w ELSE 0 END AS prev_c,
           CASE WHEN lead(h.b) OVER w = h.b + 1 THEN lead(h.c) OVER w ELSE 0 END AS next_c
    FROM {histogram} AS h JOIN {totals} AS t ON {on}
    WINDOW w AS (PARTITION BY {by} ORDER BY h.b)
),
quantile AS (
    SELECT {", ".join(keys)}, q, c, q * latency_count - (cum - c) AS rest,
           greatest(-2 * c, least(2 * c, (next_c - prev_c) / 2)) AS slope,
           greatest(CASE WHEN b = 0 THEN latency_min
                         ELSE {HISTOGRAM_LOW_MS!r} * power({_RATIO!r}, b - 1) END,
                    latency_min) AS lower,
           least(CASE WHEN b = {_LAST} THEN latency_max
                      ELSE {HISTOGRAM_LOW_MS!r} * power({_RATIO!r}, b) END,
                 latency_max) AS upper
    FROM running CROSS JOIN (VALUES {values}) AS quantiles(q)
    WHERE cum >= q * latency_count AND cum - c < q * latency_count
),
interpolated AS (
    SELECT {", ".join(keys)}, q,
           CASE WHEN upper > lower AND lower > 0
                THEN exp(ln(lower) + f * (ln(upper) - ln(lower)))
                ELSE lower + f * (upper - lower) END AS value
    FROM (
        SELECT *, least(1, greatest(0, CASE WHEN abs(slope) < 1e-9 THEN rest / c
                  ELSE (sqrt(greatest(0, (c - slope / 2) ^ 2 + 2 * slope * rest))
                        - (c - slope / 2)) / slope END)) AS f
        FROM quantile
    ) AS placed
)"""
