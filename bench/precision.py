"""How close to its slot each check starts: interval deviation p50/p99 (issue 15, figure 3).

Runs `uptime worker` processes against local TCP targets (served by another process, as in
bench/probes.py) whose slots are spread evenly over their interval, lets them run one
interval to settle, then reads the results of a window of at least two intervals and prints:

- start - slot: a check's ``started_at`` minus its ``scheduled_for`` (how late it began);
- interval deviation: | (``started_at`` - the target's previous ``started_at``) - interval |,
  over consecutive checks of each target inside the window (the figure to beat: p99 ≤ 20 ms
  at 5,000 targets every 20 s on one worker);
- checks recorded against those the schedule asked for, so a run that could not keep up says
  so (with the checks per second it did finish) instead of reporting the precision of the
  checks it did manage;
- the CPU the worker processes used, and the machine's load average, since everything
  (PostgreSQL, the peer, the workers, anything else running) shares its cores.

``--big`` adds 20,000 targets every second across 4 workers. That needs several cores for
PostgreSQL alone; on a machine that cannot carry it the table says how far short it fell.

The database is the embedded PostgreSQL in a temporary directory, unless DATABASE_URL is set.

    python bench/precision.py [--targets 5000] [--interval 20] [--workers 1] [--big]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import asyncpg

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))
sys.path.insert(0, str(BENCH))

import probes as probe_bench  # bench/probes.py: the peer process
from worker import Workers  # bench/worker.py: `uptime worker` processes

from tests.support.postgres import benchmark_database
from tests.support.targets import TargetSpec, insert_targets
from uptime_core.runtime.db import libpq_url

# Slots start this long after the targets are written, so every worker is up and claiming.
LEAD_SECONDS = 3.0


@dataclass
class Figures:
    targets: int
    interval: int
    workers: int
    window: float
    expected: float
    recorded: int
    finished: int
    late_p50: float
    late_p99: float
    late_max: float
    early: int
    dev_p50: float | None
    dev_p99: float | None
    dev_max: float | None
    worker_cpu: float


WINDOW_SQL = """
WITH w AS (
    SELECT target_id, scheduled_for, started_at,
           extract(epoch FROM started_at - lag(started_at)
                   OVER (PARTITION BY target_id ORDER BY scheduled_for)) AS gap
    FROM check_result
    WHERE scheduled_for >= $1 AND scheduled_for < $2
)
SELECT count(*) AS recorded,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM started_at - scheduled_for))
           AS late_p50,
       percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM started_at - scheduled_for))
           AS late_p99,
       max(extract(epoch FROM started_at - scheduled_for)) AS late_max,
       count(*) FILTER (WHERE started_at < scheduled_for) AS early,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY abs(gap - $3)) AS dev_p50,
       percentile_cont(0.99) WITHIN GROUP (ORDER BY abs(gap - $3)) AS dev_p99,
       max(abs(gap - $3)) AS dev_max
FROM w
"""


async def run(
    url: str, tcp_port: int, count: int, interval: int, workers: int, intervals: int
) -> Figures:
    db = await asyncpg.connect(libpq_url(url))
    try:
        await db.execute("TRUNCATE target CASCADE")
        group = Workers(url, workers, None, name="precision")
        try:
            await group.ready()
            spec = TargetSpec(
                kind="tcp",
                host="127.0.0.1",
                port=tcp_port,
                interval_seconds=interval,
                timeout_seconds=5,
            )
            ids = await insert_targets(db, [spec] * count)
            # Evenly over the interval, from a little ahead, whatever the first slot rule is.
            await db.execute(
                """
                UPDATE target SET next_run_at = now() + make_interval(secs => $2)
                    + make_interval(secs => (id - $1) * $3::float8 / $4)
                """,
                ids[0],
                LEAD_SECONDS,
                float(interval),
                count,
            )
            settle = LEAD_SECONDS + interval  # every target has run once
            await asyncio.sleep(settle)
            window_start = await db.fetchval("SELECT now()")
            cpu_before = group.cpu()
            window = max(10.0, float(interval * intervals))
            await asyncio.sleep(window)
            cpu_after = group.cpu()
            window_end = await db.fetchval("SELECT now()")
            # Let the last slots of the window finish and be recorded.
            await asyncio.sleep(min(10.0, interval + 2.0))
        finally:
            group.stop()
        row = await db.fetchrow(WINDOW_SQL, window_start, window_end, float(interval))
        finished = await db.fetchval(
            "SELECT count(*) FROM check_result WHERE finished_at >= $1 AND finished_at < $2",
            window_start,
            window_end,
        )
    finally:
        await db.close()
    seconds = (window_end - window_start).total_seconds()
    return Figures(
        targets=count,
        interval=interval,
        workers=workers,
        window=seconds,
        expected=count * seconds / interval,
        recorded=row["recorded"],
        finished=finished,
        late_p50=row["late_p50"] or 0.0,
        late_p99=row["late_p99"] or 0.0,
        late_max=row["late_max"] or 0.0,
        early=row["early"],
        dev_p50=row["dev_p50"],
        dev_p99=row["dev_p99"],
        dev_max=row["dev_max"],
        worker_cpu=(cpu_after - cpu_before) / seconds,
    )


def ms(value: float | None) -> str:
    return "-" if value is None else f"{value * 1000:.1f} ms"


def print_row(f: Figures) -> None:
    carried = f.recorded / f.expected if f.expected else 0.0
    print(
        f"| {f.targets:,} every {f.interval} s | {f.workers} | {f.window:.0f} s "
        f"| {f.recorded:,} / {f.expected:,.0f} ({carried:.0%}) "
        f"| {ms(f.late_p50)} | {ms(f.late_p99)} | {ms(f.late_max)} | {f.early} "
        f"| {ms(f.dev_p50)} | {ms(f.dev_p99)} | {ms(f.dev_max)} | {f.worker_cpu:.0%} |"
    )
    if carried < 0.98:
        print(
            f"|  | | | **not carried**: {f.finished / f.window:,.0f} of "
            f"{f.targets / f.interval:,.0f} checks/s | | | | | | | | |"
        )


async def bench(url: str, tcp_port: int, args: argparse.Namespace) -> None:
    load = os.getloadavg()
    print(
        f"TCP targets on loopback, slots spread evenly over the interval; window of "
        f"{args.intervals} intervals after one to settle; {os.cpu_count()} cores, load average "
        f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f} at the start (everything shares them)"
    )
    print()
    print(
        "| load | workers | window | checks recorded / due | start - slot p50 | p99 | max "
        "| started early | interval deviation p50 | p99 | max | worker CPU |"
    )
    print("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
    runs = [(args.targets, args.interval, args.workers)]
    if args.big:
        runs.append((20_000, 1, 4))
    for count, interval, workers in runs:
        figures = await run(url, tcp_port, count, interval, workers, args.intervals)
        print_row(figures)
    load = os.getloadavg()
    print()
    print(f"load average at the end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", type=int, default=5000)
    parser.add_argument("--interval", type=int, default=20, help="seconds")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--intervals", type=int, default=2, help="window, in intervals (≥ 2)")
    parser.add_argument(
        "--big", action="store_true", help="also 20,000 targets every second on 4 workers"
    )
    args = parser.parse_args()
    args.intervals = max(2, args.intervals)
    started = time.monotonic()
    with probe_bench.peer_process() as (tcp_port, _), benchmark_database("uptime_precision") as url:
        asyncio.run(bench(url, tcp_port, args))
    print(f"({time.monotonic() - started:.0f} s in all)")


if __name__ == "__main__":
    main()
