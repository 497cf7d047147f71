"""How fast a public status page of 200 targets answers (issue 20, must-show 5: under 50 ms
p95 from cache, under 300 ms cold).

Seeds `--targets` targets (4 groups) checked every 60 s with `--days` days of hourly and
daily rollups (raw results for the last `--raw-days`), written as bench/stats.py writes them,
plus an incident with two operator updates on every tenth target and a maintenance window;
creates `--pages` status pages showing all of them (24 h, 30 d and 90 d uptime, latency);
then, against a real `uptime api` process:

- cold: the first request of each page (nothing of it cached in the API: its statements run
  and it is rendered and gzipped), one page after another;
- cached: `--repeat` requests of one page, after the first.

Each request is `GET /status/{slug}` on a kept-alive connection, with `Accept-Encoding: gzip`
as browsers send it, timed from sending to the last byte. Prints p50, p95 and max per case,
and the page's size. The database is the embedded PostgreSQL in a temporary directory, unless
DATABASE_URL is set. Everything shares this machine's cores.

    python bench/status_page.py [--targets 200] [--days 90] [--raw-days 1] [--pages 40]
                                [--repeat 400]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import asyncpg
import httpx

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))
sys.path.insert(0, str(BENCH))

import stats as stats_bench  # bench/stats.py: seeding history the way the worker records it
from api import free_port, percentile, wait_ready  # bench/api.py

from tests.support.postgres import benchmark_database
from uptime_core.enums import IncidentUpdateStatus
from uptime_core.runtime.db import libpq_url
from uptime_core.status_pages import (
    GroupFields,
    StatusPageFields,
    create_page,
    post_incident_update,
)

GROUPS = 4


async def seed(url: str, args: argparse.Namespace) -> None:
    pool = await asyncpg.create_pool(libpq_url(url), min_size=1, max_size=4)
    try:
        async with pool.acquire() as db:
            await stats_bench.seed(db, args.targets, args.days, args.raw_days)
            ids = [r["id"] for r in await db.fetch("SELECT id FROM target ORDER BY id")]
            await db.execute("UPDATE target SET status = 'up'")
            for n, target_id in enumerate(ids[::10]):
                started = await db.fetchval(
                    "SELECT now() - make_interval(days => $1)", n % args.days
                )
                incident = await db.fetchval(
                    "INSERT INTO incident (target_id, started_at, resolved_at) "
                    "VALUES ($1, $2::timestamptz, $2::timestamptz + interval '40 minutes') "
                    "RETURNING id",
                    target_id,
                    started,
                )
                for status, message in (
                    (IncidentUpdateStatus.INVESTIGATING, "Looking into it."),
                    (IncidentUpdateStatus.RESOLVED, "Fixed."),
                ):
                    await post_incident_update(pool, incident, status, message)
            await db.execute(
                "INSERT INTO maintenance_window (name, target_id, kind, starts_at, ends_at) "
                "VALUES ('Upgrade', $1, 'once', now() + interval '1 day', "
                "now() + interval '1 day 2 hours')",
                ids[0],
            )
        size = len(ids) // GROUPS
        groups = [
            GroupFields(f"Group {g + 1}", ids[g * size : (g + 1) * size]) for g in range(GROUPS)
        ]
        for page in range(args.pages):
            await create_page(
                pool,
                StatusPageFields(
                    slug=f"page-{page}",
                    title=f"Status {page}",
                    show_latency=True,
                    show_uptime_windows=["LAST_24_HOURS", "LAST_30_DAYS", "LAST_90_DAYS"],
                    groups=groups,
                ),
            )
    finally:
        await pool.close()


def timed_get(client: httpx.Client, path: str) -> tuple[float, httpx.Response]:
    started = time.perf_counter()
    response = client.get(path)
    response.read()
    elapsed = (time.perf_counter() - started) * 1000
    assert response.status_code == 200, response.status_code
    return elapsed, response


def row(name: str, times: list[float]) -> str:
    return (
        f"| {name} | {len(times)} | {percentile(times, 0.5):.1f} | {percentile(times, 0.95):.1f} "
        f"| {max(times):.1f} |"
    )


def measure(api_url: str, args: argparse.Namespace) -> None:
    headers = {"Accept-Encoding": "gzip"}
    with httpx.Client(base_url=api_url, timeout=30, headers=headers) as client:
        timed_get(client, "/healthz")  # the connection, open
        cold = []
        response = None
        for page in range(args.pages):
            elapsed, response = timed_get(client, f"/status/page-{page}")
            cold.append(elapsed)
        assert response is not None
        cached = [timed_get(client, "/status/page-0")[0] for _ in range(args.repeat)]
        json_cold = [
            timed_get(client, f"/status/page-{p}.json")[0] for p in range(1, min(11, args.pages))
        ]
    wire = len(response.content)
    print(
        f"\n/status/{{slug}} of {args.targets} targets in {GROUPS} groups, {args.days} days of "
        f"history; page {wire / 1024:.0f} KiB ({response.headers.get('content-encoding')}: "
        f"{int(response.headers['content-length']) / 1024:.0f} KiB on the wire)\n"
    )
    print("| case | requests | p50 ms | p95 ms | max ms |")
    print("| --- | --- | --- | --- | --- |")
    print(row("cold (first request of a page)", cold))
    print(row("from cache", cached))
    print(row(".json after its page's HTML (data cached, JSON rendered)", json_cold))
    print(
        f"\ngoal: from cache p95 < 50 ms: {'met' if percentile(cached, 0.95) < 50 else 'MISSED'}; "
        f"cold p95 < 300 ms: {'met' if percentile(cold, 0.95) < 300 else 'MISSED'}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", type=int, default=200)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--raw-days", type=int, default=1)
    parser.add_argument("--pages", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=400)
    args = parser.parse_args()
    with benchmark_database("bench_status_page") as url:
        started = time.monotonic()
        asyncio.run(seed(url, args))
        print(f"  seeded in {time.monotonic() - started:.0f} s", file=sys.stderr)
        port = free_port()
        api = subprocess.Popen(
            [sys.executable, "-m", "uptime_cli", "api"],
            env={
                **os.environ,
                "DATABASE_URL": url,
                "UPTIME_LOG_LEVEL": "warning",
                "UPTIME_API_PORT": str(port),
            },
            stdin=subprocess.DEVNULL,
        )
        try:
            api_url = f"http://127.0.0.1:{port}"
            wait_ready(f"{api_url}/readyz")
            measure(api_url, args)
        finally:
            api.send_signal(signal.SIGTERM)
            api.wait(timeout=30)


if __name__ == "__main__":
    main()
