"""How fast one worker process checks, how late it runs slots, and how it scales.

For one `uptime worker` process against local TCP and HTTP targets (served by another
process, as in bench/probes.py), prints:

- the highest sustained checks/s (far more targets due every second than it can check, so it
  runs flat out), beside the bare probe loop of bench/probes.py at the same concurrency in
  the same run, and the ratio (goal: at least 0.7);
- scheduling lag p50/p99 (a check's start minus its slot, from the recorded results) at half
  that load (goal: p99 under 1 s);
- database statements (round trips) per check, counted by the workers themselves;
- CPU per recorded check, of the worker processes and of PostgreSQL (all its server processes,
  from their CPU time over the window; only when the server runs on this machine), the rows
  written per check (inserted, updated and deleted tuples of every table, from
  pg_stat_user_tables) and the WAL bytes per check;
- the highest sustained checks/s with 1, 2 and 4 worker processes.

The database is the embedded PostgreSQL in a temporary directory, unless DATABASE_URL is set.
Everything shares this machine's cores: the figures are for that whole system.

    python bench/worker.py [--duration 10] [--concurrency 200] [--workers 1,2,4]
                           [--kinds tcp,http] [--flat-only]
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
import psutil

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
    """``count`` `uptime worker` processes (at ``concurrency``, or the default when None, with
    the settings ``extra``); their statement counters read from /metrics."""

    def __init__(
        self,
        url: str,
        count: int,
        concurrency: int | None,
        extra: dict[str, str] | None = None,
        name: str = "bench",
    ) -> None:
        self.ports = [free_port() for _ in range(count)]
        settings = dict(extra or {})
        if concurrency is not None:
            settings["UPTIME_WORKER_CONCURRENCY"] = str(concurrency)
        self.processes = [
            subprocess.Popen(
                [sys.executable, "-m", "uptime_cli", "worker"],
                env={
                    **os.environ,
                    "DATABASE_URL": url,
                    "UPTIME_WORKER_ID": f"{name}-{n}",
                    "UPTIME_WORKER_HEALTH_PORT": str(port),
                    "UPTIME_LOG_LEVEL": "warning",
                    **settings,
                },
                stdin=subprocess.DEVNULL,
            )
            for n, port in enumerate(self.ports)
        ]

    def cpu(self) -> float:
        """User + system CPU seconds of the worker processes so far."""
        return sum(cpu_seconds(p.pid) for p in self.processes)

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
    worker_cpu_us: float | None = None  # worker CPU per recorded check
    postgres_cpu_us: float | None = None  # PostgreSQL CPU per recorded check
    tuples_per_check: float | None = None
    wal_bytes_per_check: float | None = None


def _cpu_seconds(process: psutil.Process, *, reaped: bool = False) -> float:
    try:
        times = process.cpu_times()
    except psutil.Error:  # gone
        return 0.0
    total = times.user + times.system
    if reaped:  # children that exited (PostgreSQL's short-lived processes)
        total += times.children_user + times.children_system
    return float(total)


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (0 once it is gone)."""
    try:
        return _cpu_seconds(psutil.Process(pid))
    except psutil.Error:
        return 0.0


@dataclass
class Snapshot:
    """CPU, tuple and WAL counters at one moment."""

    workers: float
    postgres: float | None
    tuples: int
    wal: int

    @staticmethod
    async def take(db: asyncpg.Connection, workers: list[int]) -> Snapshot:
        # Backends flush table statistics at most once a second: over a 10 s window the
        # lag at both ends roughly cancels.
        row = await db.fetchrow(
            """
            SELECT pg_backend_pid() AS pid,
                   pg_current_wal_lsn() - '0/0'::pg_lsn AS wal,
                   (SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0)
                    FROM pg_stat_user_tables) AS tuples
            """
        )
        assert row is not None
        postgres: float | None = None
        try:
            postmaster = psutil.Process(row["pid"]).parent()
        except psutil.Error:
            postmaster = None  # the server is on another machine
        if postmaster is not None:
            postgres = _cpu_seconds(postmaster, reaped=True) + sum(
                _cpu_seconds(child) for child in postmaster.children()
            )
        return Snapshot(
            workers=sum(_cpu_seconds(psutil.Process(pid)) for pid in workers),
            postgres=postgres,
            tuples=int(row["tuples"]),
            wal=int(row["wal"]),
        )


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
            pids = [p.pid for p in group.processes]
            start = await db.fetchval("SELECT now()")
            statements_before = await group.statements()
            before = await Snapshot.take(db, pids)
            await asyncio.sleep(duration)
            end = await db.fetchval("SELECT now()")
            statements_after = await group.statements()
            after = await Snapshot.take(db, pids)
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
    per_check = 1 / max(checks, 1)
    return Measured(
        rate=checks / seconds,
        statements_per_check=(statements_after - statements_before) * per_check,
        lag_p50=row["p50"],
        lag_p99=row["p99"],
        worker_cpu_us=(after.workers - before.workers) * per_check * 1e6,
        postgres_cpu_us=(
            (after.postgres - before.postgres) * per_check * 1e6
            if after.postgres is not None and before.postgres is not None
            else None
        ),
        tuples_per_check=(after.tuples - before.tuples) * per_check,
        wal_bytes_per_check=(after.wal - before.wal) * per_check,
    )


def _us(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.0f}"


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
        "| kind | bare loop (checks/s) | 1 worker, flat out (checks/s) | ratio | statements/check "
        "| CPU µs per check: worker / PostgreSQL | checks per worker core | rows written per check "
        "| WAL bytes per check |"
    )
    print(
        "|------|---------------------:|------------------------------:|------:|-----------------:"
        "|------:|------:|------:|------:|"
    )
    flat_out: dict[str, float] = {}
    for kind in args.kinds:
        bare = await bare_rate(kind, tcp_port, http_port, args)
        # Far more due each second than one process can check: it runs flat out.
        overload = int(bare * 3)
        worker = await measure(
            url, targets(kind, overload, tcp_port, http_port), 1, args.concurrency, args.duration
        )
        flat_out[kind] = worker.rate
        per_core = 1e6 / worker.worker_cpu_us if worker.worker_cpu_us else 0.0
        print(
            f"| {kind} | {bare:,.0f} | {worker.rate:,.0f} | {worker.rate / bare:.2f} "
            f"| {worker.statements_per_check:.3f} "
            f"| {_us(worker.worker_cpu_us)} / {_us(worker.postgres_cpu_us)} | {per_core:,.0f} "
            f"| {worker.tuples_per_check or 0:.2f} | {worker.wal_bytes_per_check or 0:,.0f} |"
        )
    if args.flat_only:
        return

    print()
    print("| kind | load (targets at 1 s) | checks/s | lag p50 | lag p99 | statements/check |")
    print("|------|----------------------:|---------:|--------:|--------:|-----------------:|")
    for kind in args.kinds:
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
        overload = int(flat_out.get("tcp", 2000) * 3)
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
    parser.add_argument(
        "--kinds", type=lambda s: s.split(","), default=["tcp", "http"], help="tcp,http"
    )
    parser.add_argument(
        "--flat-only", action="store_true", help="only the first table (1 worker flat out)"
    )
    args = parser.parse_args()

    with (
        probe_bench.peer_process() as (tcp_port, http_port),
        benchmark_database("uptime_bench") as url,
    ):
        asyncio.run(bench(url, args, tcp_port, http_port))


if __name__ == "__main__":
    main()
