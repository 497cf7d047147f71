"""What an `uptime worker` costs with little to do: CPU seconds per minute (issue 15, idle cost).

Starts one worker with the default settings against a fresh database, lets it settle, then
over ``--duration`` seconds measures the CPU time of the worker process and of PostgreSQL's
processes (every server process pg_stat_activity lists: the worker's connections and the
server's own background processes), and the statements the worker counted itself. Once with no
targets, once with ``--targets`` TCP targets (loopback, peer in another process) at a 60 s
interval, spread evenly over the minute. Prints a small markdown table.

The database is the embedded PostgreSQL in a temporary directory, unless DATABASE_URL is set
(then PostgreSQL's figure includes whatever else uses that server).

    python bench/idle_worker.py [--duration 60] [--targets 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import sys
from pathlib import Path

import asyncpg
import httpx

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))
sys.path.insert(0, str(BENCH))

import probes as probe_bench  # bench/probes.py: the peer process
import worker as worker_bench  # bench/worker.py: worker processes, CPU time

from tests.support.postgres import benchmark_database
from tests.support.targets import TargetSpec, insert_targets
from uptime_core.runtime.db import libpq_url

SETTLE_SECONDS = 5.0


async def server_cpu(db: asyncpg.Connection) -> float:
    pids = await db.fetch("SELECT pid FROM pg_stat_activity WHERE pid <> pg_backend_pid()")
    total = 0.0
    for row in pids:
        # OSError: another machine's server, or a process that just ended
        with contextlib.suppress(OSError):
            total += worker_bench.cpu_seconds(row["pid"])
    return total


async def statements(port: int) -> float:
    async with httpx.AsyncClient() as client:
        text = (await client.get(f"http://127.0.0.1:{port}/metrics")).text
    match = re.search(r"^uptime_worker_database_statements_total (\S+)$", text, re.M)
    return float(match.group(1)) if match else 0.0


async def measure(url: str, tcp_port: int, count: int, duration: float) -> tuple[float, ...]:
    db = await asyncpg.connect(libpq_url(url))
    try:
        await db.execute("TRUNCATE target CASCADE")
        group = worker_bench.Workers(url, 1, None, name="idle")
        try:
            await group.ready()
            spec = TargetSpec(kind="tcp", host="127.0.0.1", port=tcp_port, interval_seconds=60)
            ids = await insert_targets(db, [spec] * count)
            if ids:  # evenly over the minute, whatever the first slot rule is
                await db.execute(
                    "UPDATE target SET next_run_at = now()"
                    " + make_interval(secs => (id - $1) * 60.0 / $2)",
                    ids[0],
                    count,
                )
            await asyncio.sleep(SETTLE_SECONDS)
            worker_before, server_before = group.cpu(), await server_cpu(db)
            statements_before = await statements(group.ports[0])
            await asyncio.sleep(duration)
            worker_after, server_after = group.cpu(), await server_cpu(db)
            statements_after = await statements(group.ports[0])
            checks = await db.fetchval("SELECT count(*) FROM check_result")
        finally:
            group.stop()
    finally:
        await db.close()
    per_minute = 60.0 / duration
    return (
        (worker_after - worker_before) * per_minute,
        (server_after - server_before) * per_minute,
        (statements_after - statements_before) * per_minute,
        checks,
    )


async def bench(url: str, tcp_port: int, args: argparse.Namespace) -> None:
    load = os.getloadavg()
    print(
        f"one worker, default settings, {args.duration:g} s windows after {SETTLE_SECONDS:g} s; "
        f"{os.cpu_count()} cores, load average {load[0]:.2f} at the start"
    )
    print()
    print(
        "| targets at 60 s | worker CPU s/min | PostgreSQL CPU s/min | statements/min "
        "| checks recorded |"
    )
    print("|--:|--:|--:|--:|--:|")
    for count in (0, args.targets):
        worker, server, count_statements, checks = await measure(
            url, tcp_port, count, args.duration
        )
        print(f"| {count:,} | {worker:.2f} | {server:.2f} | {count_statements:,.0f} | {checks:,} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--targets", type=int, default=1000)
    args = parser.parse_args()
    with (
        probe_bench.peer_process() as (tcp_port, _),
        benchmark_database("uptime_idle") as url,
    ):
        asyncio.run(bench(url, tcp_port, args))


if __name__ == "__main__":
    main()
