"""How late recorded checks reach graphql-transport-ws subscribers of one `uptime api` process.

A real `uptime worker` checks `--targets` local TCP targets (served by another process, as in
bench/worker.py) at a 1 s interval, so it records about that many checks a second. One
`uptime api` process serves `--subscribers` WebSocket connections, each with one
`checkCompleted` subscription (the dashboard's selection: scheduledFor, status, latencyMs,
target { id }), opened by `--clients` client processes. For each value of `--watch` (how
many targets each subscription names in `targetIds`; `all` subscribes without targetIds;
`batched` subscribes to `checksCompleted(maxDelayMs: 250)` without targetIds instead, as the
/ui dashboard does, and counts each check of each batch as one delivery) it measures a
`--duration` s window after a warm-up and prints the latency from commit to arrival (of the
message carrying the check), p50/p95/p99/max, and how many deliveries arrived out of those
expected (each check recorded in the window, times the subscriptions that asked for
its target).

Commit time: the worker records a batch of results, and NOTIFYs their keys, in one
transaction; PostgreSQL delivers a notification when, and only when, that transaction
commits. The bench LISTENs on its own connection and takes the arrival of the notification
naming a (target, slot) as that result's commit time (so it includes one local delivery,
well under a millisecond, and errs towards less latency by that). Arrival is when a client
process has read the `next` message from its socket. All processes read the same clock.

The database is the embedded PostgreSQL in a temporary directory, unless DATABASE_URL is set.
Everything (database, worker, API, peers, clients) shares this machine's cores: the figures
are for that whole system.

    python bench/live.py [--subscribers 500] [--targets 200] [--watch 1,4,batched,all]
                         [--duration 20] [--clients 2]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import math
import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from websockets.asyncio.client import connect
from websockets.typing import Subprotocol

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))
sys.path.insert(0, str(BENCH))

import probes as probe_bench  # bench/probes.py: the peer process

from tests.support.postgres import benchmark_database
from tests.support.targets import TargetSpec, insert_targets
from uptime_core.events import EVENTS_CHANNEL
from uptime_core.runtime.db import libpq_url

WARM_UP_SECONDS = 3.0
GRACE_SECONDS = 5.0  # how long after the window a delivery may still arrive and count
SUBSCRIPTION = """
subscription Checks($ids: [ID!]) {
  checkCompleted(targetIds: $ids) { scheduledFor status latencyMs target { id } }
}
"""
# --watch batched: the dashboard's batched subscription (every target, 250 ms at most).
BATCHED = "batched"
BATCHED_DELAY_MS = 250
BATCHED_SUBSCRIPTION = f"""
subscription Checks($ids: [ID!]) {{
  checksCompleted(targetIds: $ids, maxDelayMs: {BATCHED_DELAY_MS}) {{
    scheduledFor status latencyMs target {{ id }}
  }}
}}
"""

Key = tuple[int, datetime]  # target id, slot


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def global_id(key: int) -> str:
    return base64.urlsafe_b64encode(f"Target:{key}".encode()).decode()


def target_key(value: str) -> int:
    return int(base64.urlsafe_b64decode(value.encode()).decode().partition(":")[2])


# -- the client processes ----------------------------------------------------------------------


def run_clients(
    url: str, query: str, subscriptions: list[list[str] | None], pipe: Connection
) -> None:
    """In a client process: open the subscriptions, say so, keep every message with its
    arrival time until told to stop, then send them back."""
    asyncio.run(_clients(url, query, subscriptions, pipe))


async def _clients(
    url: str, query: str, subscriptions: list[list[str] | None], pipe: Connection
) -> None:
    received: list[tuple[float, int, str]] = []
    opened = 0
    all_open = asyncio.Event()

    async def subscriber(index: int, ids: list[str] | None) -> None:
        nonlocal opened
        # Offers permessage-deflate, as browsers do.
        protocol = Subprotocol("graphql-transport-ws")
        async with connect(url, subprotocols=[protocol], max_queue=None) as ws:
            await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
            ack = json.loads(await ws.recv())
            assert ack["type"] == "connection_ack", ack
            payload = {"query": query, "variables": {"ids": ids}}
            await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
            opened += 1
            if opened == len(subscriptions):
                all_open.set()
            async for message in ws:
                received.append((time.time(), index, str(message)))

    tasks = [asyncio.create_task(subscriber(index, ids)) for index, ids in enumerate(subscriptions)]
    await all_open.wait()
    pipe.send("open")
    await asyncio.to_thread(pipe.recv)  # "stop"
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    pipe.send(received)


# -- the run -----------------------------------------------------------------------------------


@dataclass
class Figures:
    watch: str
    checks_per_second: float
    expected: int
    delivered: int
    latencies_ms: list[float]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)]


async def measure(
    api_url: str,
    database_url: str,
    ids: list[int],
    watch: int | str | None,
    args: argparse.Namespace,
) -> Figures:
    """One window with ``args.subscribers`` subscriptions, each to ``watch`` targets (all
    when None; all, batched, when ``BATCHED``)."""
    batched = watch == BATCHED
    query = BATCHED_SUBSCRIPTION if batched else SUBSCRIPTION
    count = None if batched or watch is None else int(watch)
    subscriptions: list[list[str] | None] = []
    watchers: Counter[int] = Counter()
    for n in range(args.subscribers):
        if count is None:
            subscriptions.append(None)
            continue
        chosen = [ids[(n * count + j) % len(ids)] for j in range(count)]
        watchers.update(set(chosen))
        subscriptions.append([global_id(i) for i in chosen])

    committed: dict[Key, float] = {}

    def notified(_connection: Any, _pid: int, _channel: str, payload: str) -> None:
        at = time.time()
        for target_id, slot in json.loads(payload).get("checks", []):
            committed[(int(target_id), datetime.fromisoformat(slot))] = at

    listener = await asyncpg.connect(libpq_url(database_url))
    await listener.add_listener(EVENTS_CHANNEL, notified)
    context = multiprocessing.get_context("spawn")
    clients = []
    ws_url = api_url.replace("http://", "ws://") + "/graphql"
    for c in range(args.clients):
        ours, theirs = context.Pipe()
        share = subscriptions[c :: args.clients]
        process = context.Process(
            target=run_clients, args=(ws_url, query, share, theirs), daemon=True
        )
        process.start()
        clients.append((process, ours, c))
    try:
        for _, pipe, _ in clients:
            answer = await asyncio.to_thread(pipe.recv)
            assert answer == "open", answer
        await asyncio.sleep(WARM_UP_SECONDS)
        start = time.time()
        await asyncio.sleep(args.duration)
        end = time.time()
        await asyncio.sleep(GRACE_SECONDS)
        for _, pipe, _ in clients:
            pipe.send("stop")
        received = []
        for _, pipe, c in clients:
            for at, index, message in await asyncio.to_thread(pipe.recv):
                received.append((at, index * args.clients + c, message))
    finally:
        for process, _, _ in clients:
            process.join(timeout=30)
            if process.is_alive():
                process.kill()
        await listener.close()

    in_window = {key: at for key, at in committed.items() if start <= at < end}
    expected = sum(
        len(subscriptions) if count is None else watchers[target_id] for target_id, _ in in_window
    )
    latencies = []
    seen: set[tuple[int, Key]] = set()
    for at, subscriber, message in received:
        data = json.loads(message)
        if data.get("type") != "next":
            continue
        answer = data["payload"]["data"]
        checks = answer["checksCompleted"] if batched else [answer["checkCompleted"]]
        for check in checks:
            key = (
                target_key(check["target"]["id"]),
                datetime.fromisoformat(check["scheduledFor"]),
            )
            commit = in_window.get(key)
            if commit is None or (subscriber, key) in seen or at > end + GRACE_SECONDS:
                continue
            seen.add((subscriber, key))
            latencies.append((at - commit) * 1000)
    return Figures(
        watch=(
            f"all, batched: checksCompleted(maxDelayMs: {BATCHED_DELAY_MS})"
            if batched
            else "all"
            if count is None
            else str(count)
        ),
        checks_per_second=len(in_window) / (end - start),
        expected=expected,
        delivered=len(latencies),
        latencies_ms=latencies,
    )


def start(command: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """`uptime <command>` in its own process."""
    return subprocess.Popen(
        [sys.executable, "-m", "uptime_cli", command], env=env, stdin=subprocess.DEVNULL
    )


async def bench(url: str, args: argparse.Namespace, tcp_port: int) -> None:
    db = await asyncpg.connect(libpq_url(url))
    try:
        spec = TargetSpec(kind="tcp", host="127.0.0.1", port=tcp_port, timeout_seconds=2)
        ids = await insert_targets(db, [spec] * args.targets)
    finally:
        await db.close()
    api_port, health_port = free_port(), free_port()
    env = {**os.environ, "DATABASE_URL": url, "UPTIME_LOG_LEVEL": "warning"}
    api = start("api", {**env, "UPTIME_API_PORT": str(api_port)})
    worker = start(
        "worker",
        {**env, "UPTIME_WORKER_ID": "bench", "UPTIME_WORKER_HEALTH_PORT": str(health_port)},
    )
    try:
        api_url = f"http://127.0.0.1:{api_port}"
        for ready in (f"{api_url}/readyz", f"http://127.0.0.1:{health_port}/readyz"):
            await wait_ready(ready)
        print(f"  uptime api: pid {api.pid}; uptime worker: pid {worker.pid}", file=sys.stderr)
        results = []
        for watch in args.watch:
            results.append(await measure(api_url, url, ids, watch, args))
            print(f"  watch {results[-1].watch}: done", file=sys.stderr)
    finally:
        for process in (api, worker):
            process.send_signal(signal.SIGTERM)
        for process in (api, worker):
            process.wait(timeout=60)

    print(
        f"{args.subscribers} subscriptions (checkCompleted; the batched row: checksCompleted) "
        f"on one `uptime api`, over "
        f"{args.clients} client processes; {args.targets} TCP targets at 1 s, one `uptime "
        f"worker`; {args.duration:g} s window; latency from commit to arrival, in ms"
    )
    print()
    print(
        "| targets per subscription | checks/s recorded | deliveries/s | delivered / expected "
        "| p50 | p95 | p99 | max |"
    )
    print(
        "|-------------------------:|------------------:|-------------:|---------------------:"
        "|----:|----:|----:|----:|"
    )
    for f in results:
        lat = f.latencies_ms or [math.nan]
        print(
            f"| {f.watch} | {f.checks_per_second:.0f} | {f.expected / args.duration:,.0f} "
            f"| {f.delivered:,} / {f.expected:,} ({f.delivered / max(f.expected, 1):.1%}) "
            f"| {percentile(lat, 0.5):.0f} | {percentile(lat, 0.95):.0f} "
            f"| {percentile(lat, 0.99):.0f} | {max(lat):.0f} |"
        )


async def wait_ready(url: str) -> None:
    async with httpx.AsyncClient() as client:
        for _ in range(600):
            try:
                if (await client.get(url, timeout=2)).is_success:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise SystemExit(f"{url} did not answer within 60 s")


def watch_list(text: str) -> list[int | str | None]:
    return [
        None if part == "all" else part if part == BATCHED else int(part)
        for part in text.split(",")
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=500)
    parser.add_argument("--targets", type=int, default=200)
    parser.add_argument("--watch", type=watch_list, default=watch_list("1,4,batched,all"))
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--clients", type=int, default=2)
    args = parser.parse_args()

    with (
        probe_bench.peer_process() as (tcp_port, _http_port),
        benchmark_database("uptime_bench_live") as url,
    ):
        asyncio.run(bench(url, args, tcp_port))


if __name__ == "__main__":
    main()
