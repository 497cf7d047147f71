"""Waiting on state outside the test process (a database, another process) by polling it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def poll_until(
    read: Callable[[], Awaitable[T]],
    done: Callable[[T], bool],
    *,
    within: float,
    every: float = 0.05,
) -> T:
    """Read until ``done(value)`` or ``within`` seconds pass; the last value either way."""
    deadline = time.monotonic() + within
    while True:
        value = await read()
        if done(value) or time.monotonic() >= deadline:
            return value
        await asyncio.sleep(every)
