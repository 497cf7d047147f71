"""How fast the GraphQL API answers, beside a plain FastAPI JSON endpoint serving the same data.

Seeds `--targets` targets checked every 60 s with `--days` days of history (hourly and daily
rollups, raw results for the last `--raw-days`, written as bench/stats.py writes them), then
serves, in the same run and each in its own process:

- `uptime api` (uvicorn, exactly as deployed), answering GraphQL POSTs;
- a plain FastAPI app defined here, on the same settings and pool, that calls the same core
  functions the GraphQL resolvers call (`uptime_core.targets.list_targets`, `latest_checks`,
  `targets_by_id`, `uptime_core.stats.uptime_for_targets`) and returns the same JSON.

A load generator in a third process (httpx, `--concurrency` requests in flight on kept-alive
connections) runs each case for `--duration` seconds after a short warm-up, `--rounds` times,
alternating the two servers, and prints requests/s, p50 and p99 latency and the ratio
GraphQL / plain (goal: at least 0.5) for

- the dashboard: every target (100) with status, lastCheck and uptime over 24 h (with p95),
  7 d and 30 d;
- one target: its status, lastCheck and 24 h uptime with percentiles.

Before measuring, it checks that both servers give the same answers. The database is the
embedded PostgreSQL in a temporary directory, unless DATABASE_URL is set. Everything shares
this machine's cores: the figures are for that whole system.

    python bench/api.py [--targets 100] [--days 30] [--raw-days 2] [--duration 10]
                        [--concurrency 8] [--rounds 2]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import concurrent.futures
import contextlib
import json
import math
import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import uvicorn
from fastapi import FastAPI, HTTPException, Request

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))
sys.path.insert(0, str(BENCH))

import stats as stats_bench  # bench/stats.py: seeding history the way the worker records it

from tests.support.postgres import benchmark_database
from uptime_core.enums import UptimeWindow
from uptime_core.history import CheckRow, latest_checks
from uptime_core.runtime.db import create_pool, libpq_url
from uptime_core.runtime.settings import Settings
from uptime_core.stats.uptime import Uptime, uptime_for_targets
from uptime_core.targets import list_targets, targets_by_id

WARM_UP_SECONDS = 2.0

DASHBOARD = """
query Dashboard {
  targets(first: 100) {
    edges { node {
      id name kind status paused
      lastCheck { status latencyMs errorKind message finishedAt }
      day: uptime(window: LAST_24_HOURS) { ratio coverage latency { p95Ms } }
      week: uptime(window: LAST_7_DAYS) { ratio }
      month: uptime(window: LAST_30_DAYS) { ratio downtimeSeconds }
    } }
    pageInfo { hasNextPage endCursor }
  }
}
"""

ONE_TARGET = """
query One($id: ID!) {
  target(id: $id) {
    id name kind status paused
    lastCheck { status latencyMs errorKind message finishedAt }
    day: uptime(window: LAST_24_HOURS) {
      ratio coverage checks failures latency { avgMs p50Ms p95Ms p99Ms }
    }
  }
}
"""


# -- the plain FastAPI endpoint ----------------------------------------------------------------


def _global_id(key: int) -> str:
    return base64.urlsafe_b64encode(f"Target:{key}".encode()).decode()


def _check(row: CheckRow | None) -> dict[str, Any] | None:
    if row is None:
        return None
    return {
        "status": row.status.upper(),
        "latencyMs": row.latency_ms,
        "errorKind": row.error_kind,
        "message": row.message,
        "finishedAt": row.finished_at.isoformat(),
    }


def plain_app(database_url: str) -> FastAPI:
    """The same data as DASHBOARD and ONE_TARGET, as a FastAPI developer would serve it."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.pool = await create_pool(database_url, Settings(), connect_now=False)
        yield
        await app.state.pool.close()

    app = FastAPI(lifespan=lifespan)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/targets")
    async def dashboard(request: Request) -> dict[str, Any]:
        pool = request.app.state.pool
        rows, more = await list_targets(pool, first=100, after_id=None, status=None, search=None)
        ids = [row.id for row in rows]
        windows = [UptimeWindow.LAST_24_HOURS, UptimeWindow.LAST_7_DAYS, UptimeWindow.LAST_30_DAYS]
        last, uptimes = await asyncio.gather(
            latest_checks(pool, ids), uptime_for_targets(pool, ids, windows)
        )
        edges = []
        for row in rows:
            day, week, month = uptimes[row.id]
            p95 = day.latency.p95_ms if day.latency else None
            node = {
                "id": _global_id(row.id),
                "name": row.name,
                "kind": row.kind.upper(),
                "status": row.status.upper(),
                "paused": row.paused,
                "lastCheck": _check(last.get(row.id)),
                "day": {
                    "ratio": day.ratio,
                    "coverage": day.coverage,
                    "latency": None if day.latency is None else {"p95Ms": p95},
                },
                "week": {"ratio": week.ratio},
                "month": {"ratio": month.ratio, "downtimeSeconds": month.downtime_seconds},
            }
            edges.append({"node": node})
        end = base64.urlsafe_b64encode(f"cursor:{rows[-1].id}".encode()).decode() if rows else None
        return {"targets": {"edges": edges, "pageInfo": {"hasNextPage": more, "endCursor": end}}}

    @app.get("/targets/{target_id}")
    async def one_target(request: Request, target_id: int) -> dict[str, Any]:
        pool = request.app.state.pool
        found, last, uptimes = await asyncio.gather(
            targets_by_id(pool, [target_id]),
            latest_checks(pool, [target_id]),
            uptime_for_targets(pool, [target_id], [UptimeWindow.LAST_24_HOURS]),
        )
        if target_id not in found:
            raise HTTPException(404, "no such target")
        row = found[target_id]
        day: Uptime = uptimes[target_id][0]
        latency = None
        if day.latency is not None:
            latency = {
                "avgMs": day.latency.avg_ms,
                "p50Ms": day.latency.p50_ms,
                "p95Ms": day.latency.p95_ms,
                "p99Ms": day.latency.p99_ms,
            }
        return {
            "target": {
                "id": _global_id(row.id),
                "name": row.name,
                "kind": row.kind.upper(),
                "status": row.status.upper(),
                "paused": row.paused,
                "lastCheck": _check(last.get(row.id)),
                "day": {
                    "ratio": day.ratio,
                    "coverage": day.coverage,
                    "checks": day.checks,
                    "failures": day.failures,
                    "latency": latency,
                },
            }
        }

    return app


def serve_plain(port: int) -> None:
    settings = Settings()
    assert settings.database_url is not None
    # As uptime_graphql.app.serve runs the API.
    uvicorn.run(
        plain_app(settings.database_url),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="on",
    )


# -- the servers -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def servers(url: str) -> Iterator[tuple[str, str]]:
    """`uptime api` and the plain app, each in its own process; their base URLs."""
    api_port, plain_port = free_port(), free_port()
    env = {**os.environ, "DATABASE_URL": url, "UPTIME_LOG_LEVEL": "warning"}
    api = subprocess.Popen(
        [sys.executable, "-m", "uptime_cli", "api"],
        env={**env, "UPTIME_API_PORT": str(api_port)},
        stdin=subprocess.DEVNULL,
    )
    plain = subprocess.Popen(
        [sys.executable, __file__, "--serve-plain", str(plain_port)],
        env=env,
        stdin=subprocess.DEVNULL,
    )
    try:
        api_url, plain_url = f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{plain_port}"
        wait_ready(f"{api_url}/readyz")
        wait_ready(f"{plain_url}/healthz")
        print(f"  uptime api: pid {api.pid}; plain: pid {plain.pid}", file=sys.stderr)
        yield api_url, plain_url
    finally:
        for process in (api, plain):
            process.send_signal(signal.SIGTERM)
        for process in (api, plain):
            process.wait(timeout=30)


def wait_ready(url: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(url, timeout=2).is_success:
                return
        time.sleep(0.1)
    raise SystemExit(f"{url} did not answer within 60 s")


# -- the load ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One kind of request to one server."""

    method: str
    url: str
    json: dict[str, Any] | None = None


@dataclass(frozen=True)
class Load:
    requests: int
    seconds: float
    latencies_ms: list[float]
    failures: int


def run_load(case: Case, concurrency: int, duration: float) -> Load:
    """In the load process: ``concurrency`` clients send ``case`` back to back."""
    return asyncio.run(_load(case, concurrency, duration))


async def _load(case: Case, concurrency: int, duration: float) -> Load:
    latencies: list[float] = []
    failures = 0
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        measuring = False
        stop_at = time.monotonic() + WARM_UP_SECONDS

        async def client_loop() -> None:
            nonlocal failures
            while time.monotonic() < stop_at:
                started = time.perf_counter()
                response = await client.request(case.method, case.url, json=case.json)
                elapsed = (time.perf_counter() - started) * 1000
                ok = response.status_code == 200 and b'"errors"' not in response.content
                if measuring:
                    latencies.append(elapsed)
                    failures += not ok

        await asyncio.gather(*(client_loop() for _ in range(concurrency)))
        measuring = True
        started = time.monotonic()
        stop_at = started + duration
        await asyncio.gather(*(client_loop() for _ in range(concurrency)))
        seconds = time.monotonic() - started
    return Load(len(latencies), seconds, latencies, failures)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)]


# -- the same answers --------------------------------------------------------------------------


def close(a: Any, b: Any) -> bool:
    """Equal JSON, floats within 0.1 % (coverage grows while the two requests are apart)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(close(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(close(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-3)
    return bool(a == b)


def same_answers(graphql: Case, plain: Case) -> bool:
    with httpx.Client(timeout=30) as client:
        answer = client.request(graphql.method, graphql.url, json=graphql.json).json()
        expected = client.request(plain.method, plain.url).json()
    if "errors" in answer or not close(answer["data"], expected):
        print(json.dumps(answer)[:3000], json.dumps(expected)[:3000], sep="\n", file=sys.stderr)
        return False
    return True


# -- the run -----------------------------------------------------------------------------------


async def seed(url: str, args: argparse.Namespace) -> int:
    """History for every target; the id of the one the one-target query asks for."""
    db = await asyncpg.connect(libpq_url(url))
    try:
        print(
            f"seeding {args.targets} targets x {args.days} days at 60 s "
            f"(raw rows for the last {args.raw_days})",
            file=sys.stderr,
        )
        await stats_bench.seed(db, args.targets, args.days, args.raw_days)
        ids = [row["id"] for row in await db.fetch("SELECT id FROM target ORDER BY id")]
        return int(ids[len(ids) // 2])
    finally:
        await db.close()


def bench(url: str, args: argparse.Namespace) -> None:
    one = asyncio.run(seed(url, args))
    with servers(url) as (api_url, plain_url):
        cases = {
            f"dashboard ({min(args.targets, 100)} targets x 3 windows)": (
                Case("POST", f"{api_url}/graphql", {"query": DASHBOARD}),
                Case("GET", f"{plain_url}/targets"),
            ),
            "one target": (
                Case(
                    "POST",
                    f"{api_url}/graphql",
                    {"query": ONE_TARGET, "variables": {"id": _global_id(one)}},
                ),
                Case("GET", f"{plain_url}/targets/{one}"),
            ),
        }
        for name, (graphql, plain) in cases.items():
            if not same_answers(graphql, plain):
                raise SystemExit(f"{name}: GraphQL and the plain endpoint answer differently")
        results: dict[tuple[str, str], list[Load]] = {}
        spawn = multiprocessing.get_context("spawn")
        with concurrent.futures.ProcessPoolExecutor(1, mp_context=spawn) as loader:
            for round_ in range(args.rounds):
                for name, pair in cases.items():
                    # Alternate which server goes first, so neither always runs warmer.
                    order = [("GraphQL", pair[0]), ("plain", pair[1])]
                    for api, case in order if round_ % 2 == 0 else order[::-1]:
                        load = loader.submit(run_load, case, args.concurrency, args.duration)
                        results.setdefault((name, api), []).append(load.result())
                        print(f"  {name}, {api}: round {round_ + 1} done", file=sys.stderr)
    print(
        f"{args.targets} targets with {args.days} days of history; {args.concurrency} requests "
        f"in flight, {args.rounds} x {args.duration:.0f} s per figure; latency in ms"
    )
    print()
    print("| query | API | requests/s | p50 | p99 | failed | GraphQL / plain (req/s) |")
    print("|-------|-----|-----------:|----:|----:|-------:|------------------------:|")
    for name in cases:
        rates = {}
        for api in ("GraphQL", "plain"):
            loads = results[(name, api)]
            latencies = [ms for load in loads for ms in load.latencies_ms]
            rates[api] = sum(load.requests for load in loads) / sum(load.seconds for load in loads)
            ratio = f"{rates['GraphQL'] / rates['plain']:.2f}" if api == "plain" else ""
            print(
                f"| {name} | {api} | {rates[api]:.0f} | {percentile(latencies, 0.5):.1f} "
                f"| {percentile(latencies, 0.99):.1f} | {sum(load.failures for load in loads)} "
                f"| {ratio} |"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", type=int, default=100)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--raw-days", type=int, default=2)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--serve-plain", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_plain:
        serve_plain(args.serve_plain)
        return

    with benchmark_database("uptime_bench_api") as url:
        bench(url, args)


if __name__ == "__main__":
    main()
