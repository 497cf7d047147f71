"""The probe's own time bound tells its expiry apart from anybody else's cancellation."""

from __future__ import annotations

import asyncio

import pytest

from tests.support.peers import HttpPeer, Target
from uptime_core.enums import ErrorKind
from uptime_core.probes import probe


async def test_its_own_expiry_is_a_timeout_result(http_peer: HttpPeer) -> None:
    result = await probe(Target("http", url=http_peer.url("/slow"), timeout_seconds=0.2))
    assert result.error_kind is ErrorKind.TIMEOUT
    task = asyncio.current_task()
    assert task is not None and task.cancelling() == 0, "no cancellation left pending"


async def test_a_cancellation_from_outside_still_cancels(http_peer: HttpPeer) -> None:
    started = asyncio.Event()

    async def check() -> None:
        started.set()
        await probe(Target("http", url=http_peer.url("/slow"), timeout_seconds=30))

    task = asyncio.create_task(check())
    await started.wait()
    await asyncio.sleep(0.05)  # let the request reach the peer
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_a_shorter_outer_timeout_wins(http_peer: HttpPeer) -> None:
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.2):
            await probe(Target("http", url=http_peer.url("/slow"), timeout_seconds=30))
