"""How fast one worker process checks, how late it runs slots, and how it scales.

For one `uptime worker` process against local TCP and HTTP targets (served by another
process, as in bench/probes.py), prints:

- the highest sustained checks/s (far more targets due every second than it can check, so it
  runs flat out), beside the bare probe loop of bench/probes.py at the same concurrency in
  the same run, and the ratio (goal: at least 0.7);
- scheduling lag p50/p99 (a check's start minus its slot, from the recorded results) at half
  that load (goal: p99 under 1 s);
- database statements (round trips) per check, counted by the workers themselves;
- the highest sustained checks/s with 1, 2 and 4 worker processes.

The database is the embedded PostgreSQL in a temporary directory, unless DATABASE_URL is set.
Everything shares this machine's cores: the figures are for that whole system.

    python bench/worker.py [--duration 10] [--concurrency 200] [--workers 1,2,4]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))
sys.path.insert(0, str(BENCH))

import probes as probe_bench  # bench/probes.py: the peer process and the bare loops

from tests.support.postgres import benchmark_database
from tests.support.targets import TargetSpec, insert_targets
from uptime_core.runtime.db import libpq_url

WARM_UP_SECONDS = 3.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Workers:
    """``count`` `uptime worker` processes; their statement counters read from /metrics."""

    def __init__(self, url: str, count: int, concurrency: int) -> None:
        self.ports = [free_port() for _ in range(count)]
        self.processes = [
            subprocess.Popen(
                [sys.executable, "-m", "uptime_cli", "worker"],
                env={
                    **os.environ,
                    "DATABASE_URL": url,
                    "UPTIME_WORKER_ID": f"bench-{n}",
                    "UPTIME_WORKER_HEALTH_PORT": str(port),
                    "UPTIME_WORKER_CONCURRENCY": str(concurrency),
                    "UPTIME_LOG_LEVEL": "warning",
                },
                stdin=subprocess.DEVNULL,
            )
            for n, port in enumerate(self.ports)
        ]

    async def ready(self) -> None:
        async with httpx.AsyncClient() as client:
            for port in self.ports:
                for _ in range(300):
                    try:
                        if (await client.get(f"http://127.0.0.1:{port}/readyz")).is_success:
                            break
                    except httpx.TransportError:
                        pass
                    await asyncio.sleep(0.1)

    async def statements(self) -> float:
        total = 0.0
        async with httpx.AsyncClient() as client:
            for port in self.ports:
                text = (await client.get(f"http://127.0.0.1:{port}/metrics")).text
                match = re.search(r"^uptime_worker_database_statements_total (\S+)$", text, re.M)
                total += float(match.group(1)) if match else 0.0
        return total

    def stop(self) -> None:
        for process in self.processes:
            process.send_signal(signal.SIGTERM)
        for process in self.processes:
            process.wait(timeout=60)


@dataclass
class Measured:
    rate: float
    statements_per_check: float
    lag_p50: float | None
    lag_p99: float | None


async def measure(
    url: str, specs: list[TargetSpec], workers: int, concurrency: int, duration: float
) -> Measured:
    """Run ``workers`` processes on ``specs`` and measure a window after a warm-up."""
    db = await asyncpg.connect(libpq_url(url))
    try:
        await db.execute("TRUNCATE target CASCADE")
        group = Workers(url, workers, concurrency)
        try:
            await group.ready()
            await insert_targets(db, specs)
            await asyncio.sleep(WARM_UP_SECONDS)
            start = await db.fetchval("SELECT now()")
            statements_before = await group.statements()
            await asyncio.sleep(duration)
            end = await db.fetchval("SELECT now()")
            statements_after = await group.statements()
        finally:
            group.stop()
        row = await db.fetchrow(
            """
            SELECT count(*) AS checks,
                   percentile_cont(0.5) WITHIN GROUP (ORDER BY lag) AS p50,
                   percentile_cont(0.99) WITHIN GROUP (ORDER BY lag) AS p99
            FROM (SELECT extract(epoch FROM started_at - scheduled_for) AS lag
                  FROM check_result WHERE finished_at >= $1 AND finished_at < $2) AS w
            """,
            start,
            end,
        )
    finally:
        await db.close()
    seconds = (end - start).total_seconds()
    checks = row["checks"]
    return Measured(
        rate=checks / seconds,
        statements_per_check=(statements_after - statements_before) / max(checks, 1),
        lag_p50=row["p50"],
        lag_p99=row["p99"],
    )


def targets(kind: str, count: int, tcp_port: int, http_port: int) -> list[TargetSpec]:
    if kind == "tcp":
        spec = TargetSpec(kind="tcp", host="127.0.0.1", port=tcp_port, timeout_seconds=5)
    else:
        spec = TargetSpec(
            kind="http", url=f"http://127.0.0.1:{http_port}/health", timeout_seconds=5
        )
    return [spec] * count


async def bare_rate(kind: str, tcp_port: int, http_port: int, args: argparse.Namespace) -> float:
    rows = {(k, base): bare for k, base, bare, _ in probe_bench._rows(tcp_port, http_port)}
    bare = (
        rows[("tcp", "loop.sock_connect")]
        if kind == "tcp"
        else rows[("http", "httpx.AsyncClient, no keep-alive")]
    )
    await probe_bench._measure(bare, args.concurrency, 0.5)
    run = await probe_bench._measure(bare, args.concurrency, args.duration)
    return run.rate


async def bench(url: str, args: argparse.Namespace, tcp_port: int, http_port: int) -> None:
    print(
        f"worker concurrency {args.concurrency}, {args.duration:g} s windows after a "
        f"{WARM_UP_SECONDS:g} s warm-up, targets at a 1 s interval, peers in another process"
    )
    print()
    print(
        "| kind | bare loop (checks/s) | 1 worker, flat out (checks/s) | ratio | statements/check |"
    )
    print(
        "|------|---------------------:|------------------------------:|------:|-----------------:|"
    )
    flat_out: dict[str, float] = {}
    for kind in ("tcp", "http"):
        bare = await bare_rate(kind, tcp_port, http_port, args)
        # Far more due each second than one process can check: it runs flat out.
        overload = int(bare * 3)
        worker = await measure(
            url, targets(kind, overload, tcp_port, http_port), 1, args.concurrency, args.duration
        )
        flat_out[kind] = worker.rate
        print(
            f"| {kind} | {bare:,.0f} | {worker.rate:,.0f} | {worker.rate / bare:.2f} "
            f"| {worker.statements_per_check:.3f} |"
        )

    print()
    print("| kind | load (targets at 1 s) | checks/s | lag p50 | lag p99 | statements/check |")
    print("|------|----------------------:|---------:|--------:|--------:|-----------------:|")
    for kind in ("tcp", "http"):
        half = max(1, int(flat_out[kind] / 2))
        run = await measure(
            url, targets(kind, half, tcp_port, http_port), 1, args.concurrency, args.duration
        )
        print(
            f"| {kind} | {half:,} | {run.rate:,.0f} | {(run.lag_p50 or 0) * 1000:.0f} ms "
            f"| {(run.lag_p99 or 0) * 1000:.0f} ms | {run.statements_per_check:.3f} |"
        )

    print()
    print("| worker processes | tcp checks/s, flat out | statements/check |")
    print("|-----------------:|-----------------------:|-----------------:|")
    for count in args.workers:
        overload = int(flat_out["tcp"] * 3)
        run = await measure(
            url,
            targets("tcp", overload, tcp_port, http_port),
            count,
            args.concurrency,
            args.duration,
        )
        print(f"| {count} | {run.rate:,.0f} | {run.statements_per_check:.3f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per window")
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument(
        "--workers", type=lambda s: [int(n) for n in s.split(",")], default=[1, 2, 4]
    )
    args = parser.parse_args()

    with (
        probe_bench.peer_process() as (tcp_port, http_port),
        benchmark_database("uptime_bench") as url,
    ):
        asyncio.run(bench(url, args, tcp_port, http_port))


if __name__ == "__main__":
    main()
