"""The listener's dispatch (uptime_graphql.live.listener), fed notification payloads directly:
every subscriber gets the same object per event, and a payload that is not of the contract's
shapes is logged and skipped without stopping the dispatch."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

import pytest

from uptime_core.events import StatusChange
from uptime_graphql.live.listener import LiveEvents

SLOT = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
CHANGE = f'{{"changes": [[7, "up", "down", "{SLOT.isoformat()}"]]}}'


def dispatching() -> tuple[LiveEvents, asyncio.Task[None]]:
    # No pool: status changes name all they carry, so no row is read.
    pool: Any = None
    live = LiveEvents("postgresql://unused", pool)
    return live, asyncio.create_task(live._dispatch_forever())


async def test_every_subscriber_gets_the_same_change_object() -> None:
    live, task = dispatching()
    try:
        async with live.subscribe_changes() as one, live.subscribe_changes() as other:
            live.notifications.put_nowait(CHANGE)
            first = await asyncio.wait_for(one.get(), 5)
            second = await asyncio.wait_for(other.get(), 5)
        assert first == StatusChange(7, "up", "down", SLOT)
        assert first is second
    finally:
        task.cancel()


async def test_malformed_payloads_are_logged_and_skipped(caplog: pytest.LogCaptureFixture) -> None:
    live, task = dispatching()
    try:
        async with live.subscribe_changes() as changes:
            for payload in ["[]", "not json", '{"changes": [[7]]}', "{}", CHANGE]:
                live.notifications.put_nowait(payload)
            with caplog.at_level(logging.WARNING, logger="uptime.live"):
                change = await asyncio.wait_for(changes.get(), 5)
        assert change.target_id == 7
        assert changes.empty()
        ignored = [r.getMessage() for r in caplog.records if "malformed" in r.getMessage()]
        assert len(ignored) == 3, ignored
    finally:
        task.cancel()
