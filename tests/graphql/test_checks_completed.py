"""checksCompleted (batches of checks for views of many targets) and the shared execution of
subscription events, over real graphql-transport-ws against a served app and a real worker."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import asyncpg
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Subprotocol

from tests.graphql.conftest import ServeApi
from tests.support.processes import StartWorker
from tests.support.targets import TargetSpec, insert_targets
from tests.support.wait import poll_until
from uptime_core.events import EVENTS_CHANNEL, ChecksRecorded, parse
from uptime_core.runtime.db import libpq_url
from uptime_graphql.live.shared_execution import ExecutionContext
from uptime_graphql.types.node import global_id

BATCHES = """subscription($ids: [ID!], $delay: Int!) {
  checksCompleted(targetIds: $ids, maxDelayMs: $delay) { scheduledFor status target { id } }
}"""

Key = tuple[str, datetime]


class Live:
    """One graphql-transport-ws connection with one subscription; keeps every message with
    its arrival time."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.messages: list[tuple[float, dict[str, Any]]] = []
        self.task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        with contextlib.suppress(Exception):
            async for message in self.ws:
                self.messages.append((time.monotonic(), json.loads(message)))

    def nexts(self) -> list[tuple[float, dict[str, Any]]]:
        return [(at, m["payload"]) for at, m in self.messages if m["type"] == "next"]


@contextlib.asynccontextmanager
async def subscribed(base: str, query: str, variables: dict[str, Any]) -> AsyncIterator[Live]:
    url = base.replace("http://", "ws://") + "/graphql"
    async with connect(url, subprotocols=[Subprotocol("graphql-transport-ws")]) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        payload = {"query": query, "variables": variables}
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
        live = Live(ws)
        try:
            yield live
        finally:
            live.task.cancel()


@contextlib.asynccontextmanager
async def committed_checks(database_url: str) -> AsyncIterator[list[Key]]:
    """The keys of the checks committed while the block runs, as the worker NOTIFYs them."""
    keys: list[Key] = []

    def notified(_connection: Any, _pid: int, _channel: str, payload: str) -> None:
        for event in parse(payload):
            if isinstance(event, ChecksRecorded):
                keys.extend(
                    (global_id("Target", target_id), slot) for target_id, slot in event.checks
                )

    listener = await asyncpg.connect(libpq_url(database_url))
    await listener.add_listener(EVENTS_CHANNEL, notified)
    try:
        yield keys
    finally:
        await listener.close()


async def tcp_targets(database_url: str, count: int) -> tuple[list[str], asyncio.Server]:
    server = await asyncio.start_server(lambda _r, w: w.close(), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    db = await asyncpg.connect(libpq_url(database_url))
    try:
        spec = TargetSpec(kind="tcp", host="127.0.0.1", port=port, timeout_seconds=1)
        ids = await insert_targets(db, [spec] * count)
    finally:
        await db.close()
    return [global_id("Target", i) for i in ids], server


def batch_keys(live: Live) -> list[Key]:
    return [
        (check["target"]["id"], datetime.fromisoformat(check["scheduledFor"]))
        for _, payload in live.nexts()
        for check in payload["data"]["checksCompleted"]
    ]


async def test_checks_completed_delivers_every_check_once_in_spaced_batches(
    serve_api: ServeApi, database_url: str, start_worker: StartWorker
) -> None:
    ids, server = await tcp_targets(database_url, 6)
    try:
        async with (
            serve_api(database_url) as base,
            committed_checks(database_url) as committed,
            subscribed(base, BATCHES, {"ids": None, "delay": 700}) as everything,
            subscribed(base, BATCHES, {"ids": None, "delay": 700}) as everything_too,
            subscribed(base, BATCHES, {"ids": ids[:2], "delay": 50}) as two,
        ):
            await asyncio.sleep(0.5)  # the subscriptions register on the server
            worker = start_worker(database_url, "batches")
            await worker.ready()
            await asyncio.sleep(5)
            assert await worker.stop() == 0
            await asyncio.sleep(1.5)  # the last batch (700 ms at most) arrives

            assert len(committed) >= 12, committed
            assert all(not p.get("errors") for s in (everything, two) for _, p in s.nexts())
            # Every check once, none other.
            assert sorted(batch_keys(everything)) == sorted(committed)
            assert sorted(batch_keys(two)) == sorted(k for k in committed if k[0] in ids[:2])
            # No more often than maxDelayMs. The server cuts batches at least that far apart;
            # arrival times add the delivery's jitter (a late message shortens the gap to the
            # next), so: never more messages than the time they span allows, and no two
            # within half the delay.
            arrivals = [at for at, _ in everything.nexts()]
            assert len(arrivals) >= 2
            gaps = [b - a for a, b in itertools.pairwise(arrivals)]
            assert len(gaps) <= (arrivals[-1] - arrivals[0]) / 0.7 + 1, gaps
            assert min(gaps) > 0.7 / 2, gaps
            assert len(arrivals) < len(committed), "batched, not one message per check"
            # Two subscribers of the same thing: the same batches.
            assert [p for _, p in everything_too.nexts()] == [p for _, p in everything.nexts()]
    finally:
        server.close()


async def test_a_bad_max_delay_is_refused_naming_the_argument(
    serve_api: ServeApi, database_url: str
) -> None:
    async with serve_api(database_url) as base:
        for delay in (49, 5001, -1):
            async with subscribed(base, BATCHES, {"ids": None, "delay": delay}) as live:
                for _ in range(100):
                    if live.messages:
                        break
                    await asyncio.sleep(0.05)
                assert live.messages, delay
                answer = json.dumps(live.messages[0][1])
                assert "maxDelayMs" in answer and "BAD_USER_INPUT" in answer, answer


async def test_shared_execution_same_answers_for_the_same_and_own_for_others(
    serve_api: ServeApi, database_url: str, start_worker: StartWorker
) -> None:
    ids, server = await tcp_targets(database_url, 2)
    one = "subscription($ids: [ID!]) { checkCompleted(targetIds: $ids) { status target { id } } }"
    other = "subscription($ids: [ID!]) { checkCompleted(targetIds: $ids) { scheduledFor } }"
    shared_before = ExecutionContext.shared
    try:
        async with (
            serve_api(database_url) as base,
            subscribed(base, one, {"ids": [ids[0]]}) as a,
            subscribed(base, one, {"ids": [ids[0]]}) as b,
            subscribed(base, one, {"ids": [ids[1]]}) as c,
            subscribed(base, other, {"ids": [ids[0]]}) as d,
        ):
            await asyncio.sleep(0.5)
            worker = start_worker(database_url, "shared")
            await worker.ready()
            await asyncio.sleep(3)
            assert await worker.stop() == 0
            await asyncio.sleep(0.5)
    finally:
        server.close()
    answers = {
        name: [p for _, p in s.nexts()] for name, s in zip("abcd", (a, b, c, d), strict=True)
    }
    assert len(answers["a"]) >= 2
    assert answers["a"] == answers["b"]
    assert {x["data"]["checkCompleted"]["target"]["id"] for x in answers["a"]} == {ids[0]}
    assert {x["data"]["checkCompleted"]["target"]["id"] for x in answers["c"]} == {ids[1]}
    assert all(set(x["data"]["checkCompleted"]) == {"scheduledFor"} for x in answers["d"])
    assert len(answers["d"]) == len(answers["a"])
    # b was given a's results (the app runs in this process): at least one per event.
    assert ExecutionContext.shared - shared_before >= len(answers["a"])


async def test_events_show_the_target_as_it_is_now_not_as_the_connection_first_read_it(
    serve_api: ServeApi, database_url: str, start_worker: StartWorker
) -> None:
    ids, server = await tcp_targets(database_url, 1)
    query = "subscription($ids: [ID!]) { checkCompleted(targetIds: $ids) { target { name } } }"
    live: Live | None = None

    async def names() -> list[str]:
        assert live is not None
        return [p["data"]["checkCompleted"]["target"]["name"] for _, p in live.nexts()]

    db = await asyncpg.connect(libpq_url(database_url))
    try:
        async with (
            serve_api(database_url) as base,
            subscribed(base, query, {"ids": ids}) as live,
        ):
            await asyncio.sleep(0.5)
            worker = start_worker(database_url, "renamed")
            await worker.ready()
            await poll_until(names, lambda seen: len(seen) >= 1, within=10)
            await db.execute("UPDATE target SET name = 'renamed'")
            await poll_until(names, lambda seen: "renamed" in seen, within=10)
            assert await worker.stop() == 0
    finally:
        server.close()
        await db.close()
    seen = await names()
    assert seen[0] != "renamed" and seen[-1] == "renamed", seen
