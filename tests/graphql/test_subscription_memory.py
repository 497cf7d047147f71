"""A long subscription keeps no memory per event (graphql-core 3.3 kept every event's
collected fields; uptime_graphql.live.shared_execution.ExecutionContext gives each event its
own)."""

from __future__ import annotations

import asyncio
import gc
from datetime import UTC, datetime

from tests.support.wait import poll_until
from uptime_core.history import CheckRow
from uptime_core.runtime.db import create_pool
from uptime_core.runtime.settings import Settings
from uptime_graphql.context import Context
from uptime_graphql.live.listener import LiveEvents
from uptime_graphql.schema import schema

SUBSCRIPTION = "subscription { checkCompleted { scheduledFor status latencyMs errorKind } }"


async def test_a_subscription_keeps_no_memory_per_event(database_url: str) -> None:
    settings = Settings(database_url=database_url)
    pool = await create_pool(database_url, settings)
    try:
        live = LiveEvents(database_url, pool)  # not listening: the test hands it the events
        context = Context(pool=pool, settings=settings, live=live, header_token=None)
        stream = await schema.subscribe(SUBSCRIPTION, context_value=context)
        now = datetime.now(UTC)
        check = CheckRow(1, now, now, now, "up", 12.5, None, None, None)

        async def subscribers() -> int:
            return len(live.checks)

        async def events(count: int) -> None:
            for _ in range(count):
                received = asyncio.ensure_future(anext(stream))  # type: ignore[arg-type]
                # The subscription registers on its first read.
                assert await poll_until(subscribers, bool, within=5)
                for subscriber in live.checks:
                    subscriber.offer(check)
                result = await received
                assert not result.errors and result.data["checkCompleted"]["status"] == "UP"

        await events(100)
        gc.collect()
        before = len(gc.get_objects())
        await events(2_000)
        gc.collect()
        grown = len(gc.get_objects()) - before
        assert grown < 500, f"{grown} more objects after 2,000 events"
        await stream.aclose()  # type: ignore[union-attr]
    finally:
        await pool.close()
