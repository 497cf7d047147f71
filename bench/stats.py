"""How fast uptime statistics are answered from rollups, beside the same answers from raw rows.

Seeds `--targets` targets checked every 60 s for `--days` days: raw results for the retention
window (`--raw-days`, 30 by default) and hourly and daily rollups for all of it, written by the
same SQL the worker uses. Then, for one target over each window and for the dashboard (every
target over 24 h, 7 d and 30 d in one query, with p95 latency), prints p50 and p99 times from
rollups and from raw rows in the same run, their ratio, and whether the answers agree. Raw
rows stop at the retention window, so the 90-day window has no raw figure.

    python bench/stats.py [--targets 500] [--days 90] [--raw-days 30] [--repeat 20]
                          [--data-dir DIR]

With --data-dir the embedded PostgreSQL lives there and is kept after the run (for looking
at the seeded history); every run seeds afresh.

Seeding 500 targets x 30 days (21.6 million raw rows) takes several minutes on 2 cores. The
database is the embedded PostgreSQL in a temporary directory, unless DATABASE_URL is set.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from pathlib import Path

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.postgres import benchmark_database
from uptime_core.enums import UptimeWindow
from uptime_core.retention import create_partition_sql
from uptime_core.runtime.db import STATEMENT_CACHE_BYTES, libpq_url
from uptime_core.stats.rollups import histogram_upsert_sql, rollup_upsert_sql
from uptime_core.stats.uptime import Range, Uptime, Window, uptime_for_targets

# One day of synthetic checks for every target: 0.5 % down, latency log-normal around 60 ms.
DAY_OF_CHECKS = """
SELECT t.id AS target_id, s AS scheduled_for,
       CASE WHEN random() < 0.005 THEN 'down' ELSE 'up' END AS status,
       exp(ln(60) + 0.6 * sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random())) AS latency_ms
FROM target AS t,
     generate_series('{day}'::timestamptz, '{day}'::timestamptz + interval '1 day' - interval '1 s',
                     interval '60 s') AS s
"""


async def seed(db: asyncpg.Connection, targets: int, days: int, raw_days: int) -> None:
    await db.execute("SET synchronous_commit = off")
    await db.execute(
        "INSERT INTO target (name, kind, host, port, interval_seconds, timeout_seconds, "
        "failure_threshold, recovery_threshold, created_at, next_run_at) "
        "SELECT 'target ' || n, 'tcp', '127.0.0.1', 9, 60, 5, 2, 2, now() - interval '400 days', "
        "NULL "
        "FROM generate_series(1, $1) AS n",
        targets,
    )
    today: date = await db.fetchval("SELECT (now() AT TIME ZONE 'UTC')::date")
    started = time.monotonic()
    for back in range(days, -1, -1):
        day = today - timedelta(days=back)
        checks = DAY_OF_CHECKS.format(day=f"{day.isoformat()} 00:00:00+00")
        if back <= raw_days:
            await db.execute(create_partition_sql(day))
            await db.execute(
                "INSERT INTO check_result (target_id, scheduled_for, started_at, finished_at, "
                f"status, latency_ms) SELECT target_id, scheduled_for, scheduled_for, "
                f"scheduled_for, status, latency_ms FROM ({checks}) AS c "
                "WHERE scheduled_for < now()"
            )
            source = (
                "(SELECT target_id, scheduled_for, status, latency_ms FROM check_result "
                f"WHERE scheduled_for >= '{day}' AND scheduled_for < '{day + timedelta(days=1)}')"
                " AS c"
            )
        else:
            # Drawn once: the counts and the histograms must describe the same checks.
            await db.execute("DROP TABLE IF EXISTS day_of_checks")
            await db.execute(f"CREATE TEMP TABLE day_of_checks AS {checks}")
            source = "day_of_checks AS c"
        await db.execute(rollup_upsert_sql("hour", source))
        await db.execute(histogram_upsert_sql("hour", source))
        await db.execute(rollup_upsert_sql("day", source))
        await db.execute(histogram_upsert_sql("day", source))
        print(f"  seeded {day} ({time.monotonic() - started:.0f} s)", file=sys.stderr)
    await db.execute("VACUUM ANALYZE")


Answers = dict[int, list[Uptime]]


async def timed(
    repeat: int, query: Callable[[], Awaitable[Answers]], *, warm: bool = True
) -> tuple[list[float], Answers]:
    answer: Answers = {}
    if warm:
        answer = await query()  # warm the caches and the prepared statement
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        answer = await query()
        times.append((time.perf_counter() - started) * 1000)
    return times, answer


def p(times: list[float], q: float) -> float:
    ordered = sorted(times)
    return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)]


def same(a: Uptime, b: Uptime) -> bool:
    if (a.checks, a.failures, a.ratio, a.coverage) != (b.checks, b.failures, b.ratio, b.coverage):
        return False
    if a.latency is None or b.latency is None:
        return a.latency is b.latency
    pairs = [
        (getattr(a.latency, f), getattr(b.latency, f))
        for f in ("avg_ms", "min_ms", "max_ms", "p50_ms", "p95_ms", "p99_ms")
    ]
    return all(
        x is y if x is None or y is None else math.isclose(x, y, rel_tol=1e-9) for x, y in pairs
    )


def agree(fast: dict[int, list[Uptime]], raw: dict[int, list[Uptime]]) -> bool:
    return fast.keys() == raw.keys() and all(
        same(a, b) for key in fast for a, b in zip(fast[key], raw[key], strict=True)
    )


async def bench(url: str, args: argparse.Namespace) -> None:
    db = await asyncpg.connect(libpq_url(url), max_cacheable_statement_size=STATEMENT_CACHE_BYTES)
    try:
        print(
            f"seeding {args.targets} targets x {args.days} days at 60 s "
            f"(raw rows for the last {args.raw_days})",
            file=sys.stderr,
        )
        await seed(db, args.targets, args.days, args.raw_days)
        raw_rows = await db.fetchval("SELECT count(*) FROM check_result")
        hourly = await db.fetchval("SELECT count(*) FROM check_rollup_hourly")
        ids = [r["id"] for r in await db.fetch("SELECT id FROM target ORDER BY id")]
        print(
            f"{args.targets} targets, {raw_rows:,} raw rows, {hourly:,} hourly rollup rows; "
            f"{args.repeat} runs per figure, times in ms"
        )
        print()
        print("| query | rollups p50 | rollups p99 | raw p50 | raw p99 | raw / rollups | agree |")
        print("|-------|------------:|------------:|--------:|--------:|--------------:|:-----:|")

        # Rolling windows, as the API asks them; the raw answer is asked for the bounds the
        # last rolling answer reports, and must be the same.
        def bounds(answers: Answers) -> list[Window]:
            return [Range(u.start, u.end) for u in next(iter(answers.values()))]

        one = ids[len(ids) // 2]
        for window in UptimeWindow:
            fast_times, fast = await timed(
                args.repeat, lambda window=window: uptime_for_targets(db, [one], [window])
            )
            within_raw = window.value <= timedelta(days=args.raw_days)
            row = (
                f"| 1 target, {window.name.lower()} | {p(fast_times, 0.5):.1f} "
                f"| {p(fast_times, 0.99):.1f} |"
            )
            if within_raw:
                fixed = bounds(fast)
                raw_times, raw = await timed(
                    max(3, args.repeat // 4),
                    lambda fixed=fixed: uptime_for_targets(db, [one], fixed, use_rollups=False),
                )
                row += (
                    f" {p(raw_times, 0.5):.1f} | {p(raw_times, 0.99):.1f} "
                    f"| {p(raw_times, 0.5) / p(fast_times, 0.5):.0f}x "
                    f"| {'yes' if agree(fast, raw) else 'NO'} |"
                )
            else:
                row += " - | - | - | (no raw rows) |"
            print(row)

        dashboard: list[Window] = [
            UptimeWindow.LAST_24_HOURS,
            UptimeWindow.LAST_7_DAYS,
            UptimeWindow.LAST_30_DAYS,
        ]
        # The dashboard shows p95 for the last 24 hours only.
        wanted = [True, False, False]
        fast_times, fast = await timed(
            args.repeat, lambda: uptime_for_targets(db, ids, dashboard, percentiles=wanted)
        )
        fixed = bounds(fast)
        # Raw over 30 days of 500 targets takes minutes a run: timed twice, without warm-up.
        raw_times, raw = await timed(
            2,
            lambda: uptime_for_targets(db, ids, fixed, use_rollups=False, percentiles=wanted),
            warm=False,
        )
        print(
            f"| dashboard: {len(ids)} targets x 24 h, 7 d, 30 d, p95 | {p(fast_times, 0.5):.1f} "
            f"| {p(fast_times, 0.99):.1f} | {p(raw_times, 0.5):.0f} | {p(raw_times, 0.99):.0f} "
            f"| {p(raw_times, 0.5) / p(fast_times, 0.5):.0f}x "
            f"| {'yes' if agree(fast, raw) else 'NO'} |"
        )
        print()
        print(f"dashboard p50 from rollups: {statistics.median(fast_times):.1f} ms")
    finally:
        await db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", type=int, default=500)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--raw-days", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--data-dir", type=Path, help="keep the seeded database here")
    args = parser.parse_args()

    with benchmark_database("uptime_bench_stats", args.data_dir) as url:
        asyncio.run(bench(url, args))


if __name__ == "__main__":
    main()
