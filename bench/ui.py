"""How the dashboard's overview behaves with many targets while their checks stream in.

Seeds `--targets` TCP targets (checked every second by a real `uptime worker`, so about that
many checks a second arrive) with `--history-days` days of history at one check a minute
(raw results and rollups, as the worker writes them), starts `uptime api`, and opens /ui in
Debian's Chromium (headless, through Playwright) `--runs` times. Each run measures, inside the
page: the time from navigation to the first full render, when the page is first free of long
tasks after that, and over `--seconds` of live events while typing a search and changing the
status filter: events received per second, frame intervals, long tasks and the slowest
interaction (Event Timing). Prints one column per run and the median.

    python bench/ui.py [--targets 200] [--history-days 2] [--runs 3] [--seconds 5]

The database is the embedded PostgreSQL in a temporary directory, unless DATABASE_URL is set.
Needs /usr/bin/chromium (`make browser` installs it as root).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import asyncpg
from playwright.async_api import async_playwright

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.browser.measure import OverviewFigures, measure_overview, seed_targets
from tests.support.net import free_port, wait_for_http
from tests.support.peers import TcpPeer
from tests.support.postgres import benchmark_database
from tests.support.processes import WorkerProcess
from uptime_core.retention import create_partition_sql
from uptime_core.runtime.db import libpq_url
from uptime_core.stats.rollups import histogram_upsert_sql, rollup_upsert_sql

# One day of one check a minute for every target: 0.5 % down, latency log-normal around 2 ms
# (what a loopback TCP connect takes), ending before now (the worker's own results follow).
DAY_OF_CHECKS = """
SELECT t.id AS target_id, s AS scheduled_for,
       CASE WHEN random() < 0.005 THEN 'down' ELSE 'up' END AS status,
       exp(ln(2) + 0.6 * sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random())) AS latency_ms
FROM target AS t,
     generate_series('{day}'::timestamptz, '{day}'::timestamptz + interval '1 day' - interval '1 s',
                     interval '60 s') AS s
WHERE s < now() - interval '1 minute'
"""


async def seed_history(db: asyncpg.Connection, days: int) -> None:
    await db.execute("SET synchronous_commit = off")
    await db.execute("UPDATE target SET created_at = now() - make_interval(days => $1)", days)
    today: date = await db.fetchval("SELECT (now() AT TIME ZONE 'UTC')::date")
    for back in range(days, -1, -1):
        day = today - timedelta(days=back)
        await db.execute(create_partition_sql(day))
        checks = DAY_OF_CHECKS.format(day=f"{day.isoformat()} 00:00:00+00")
        await db.execute(
            "INSERT INTO check_result (target_id, scheduled_for, started_at, finished_at, "
            f"status, latency_ms) SELECT target_id, scheduled_for, scheduled_for, "
            f"scheduled_for, status, latency_ms FROM ({checks}) AS c"
        )
        source = (
            "(SELECT target_id, scheduled_for, status, latency_ms FROM check_result "
            f"WHERE scheduled_for >= '{day}' AND scheduled_for < '{day + timedelta(days=1)}')"
            " AS c"
        )
        await db.execute(rollup_upsert_sql("hour", source))
        await db.execute(histogram_upsert_sql("hour", source))
        await db.execute(rollup_upsert_sql("day", source))
        await db.execute(histogram_upsert_sql("day", source))
    await db.execute("VACUUM ANALYZE")


def start_api(url: str, port: int, log_path: Path) -> subprocess.Popen[bytes]:
    with log_path.open("w") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "uptime_cli", "api"],
            env={**os.environ, "DATABASE_URL": url, "UPTIME_API_PORT": str(port)},
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )


async def bench(url: str, args: argparse.Namespace, log_dir: Path) -> list[OverviewFigures]:
    peer = await TcpPeer().start("127.0.0.1")
    db = await asyncpg.connect(libpq_url(url))
    port = free_port()
    api = worker = None
    try:
        started = time.monotonic()
        await seed_targets(db, args.targets, "127.0.0.1", peer.port)
        if args.history_days:
            await seed_history(db, args.history_days)
        print(f"seeded in {time.monotonic() - started:.0f} s", file=sys.stderr)
        api = start_api(url, port, log_dir / "api.log")
        worker = WorkerProcess(url, "bench-ui")
        await asyncio.to_thread(wait_for_http, f"http://127.0.0.1:{port}/readyz", timeout=30)
        await worker.ready()
        # Let the worker reach its steady rate before measuring.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            recent = await db.fetchval(
                "SELECT count(*) FROM check_result WHERE finished_at > now() - interval '2 s'"
            )
            if recent >= 1.5 * args.targets:
                break
            await asyncio.sleep(0.2)
        results = []
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(
                executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
            )
            for _ in range(args.runs):
                context = await browser.new_context(viewport={"width": 1280, "height": 800})
                page = await context.new_page()
                results.append(
                    await measure_overview(
                        page, f"http://127.0.0.1:{port}", args.targets, args.seconds
                    )
                )
                await context.close()
            await browser.close()
        return results
    finally:
        if api is not None:
            api.terminate()
            api.wait(timeout=20)
        if worker is not None:
            await worker.stop()
        await db.close()
        await peer.stop()


def table(results: list[OverviewFigures]) -> str:
    names = [name for name, _ in results[0].rows()]
    columns = [[value for _, value in r.rows()] for r in results]
    medians = []
    for n in range(len(names)):
        values = [float(column[n].replace(",", "")) for column in columns]
        medians.append(f"{statistics.median(values):,.1f}")
    header = ["figure", *(f"run {n + 1}" for n in range(len(results))), "median"]
    lines = ["| " + " | ".join(header) + " |", "|---" + "|---:" * (len(header) - 1) + "|"]
    for n, name in enumerate(names):
        lines.append(
            "| " + " | ".join([name, *(column[n] for column in columns), medians[n]]) + " |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", type=int, default=200)
    parser.add_argument("--history-days", type=int, default=2)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    if not CHROMIUM.exists():
        sys.exit(f"{CHROMIUM} is missing: run `make browser` as root")

    with (
        tempfile.TemporaryDirectory(prefix="uptime-bench-ui-") as logs,
        benchmark_database("uptime_bench_ui") as url,
    ):
        results = asyncio.run(bench(url, args, Path(logs)))
        print(table(results))


if __name__ == "__main__":
    main()
