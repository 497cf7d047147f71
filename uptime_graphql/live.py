"""Live events: one PostgreSQL listener per API process, fanned out to subscribers.

Workers announce recorded slots and state changes with NOTIFY (``scheduling.EVENTS_CHANNEL``,
small payloads of keys). This process LISTENs on one connection, reads the rows the events
name (one query per notification, only when someone wants them), and hands them to each
interested subscriber's bounded queue. A subscriber that falls behind loses its oldest
events; it never slows the listener or the other subscribers. A lost listening connection is
reopened with backoff; events sent meanwhile are missed (live views show the next ones).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

import asyncpg

from uptime_core.db import libpq_url
from uptime_core.scheduling import EVENTS_CHANNEL
from uptime_core.targets import CHECK_COLUMNS, CheckRow

log = logging.getLogger("uptime.live")

QUEUE_SIZE = 256
T = TypeVar("T")


@dataclass(frozen=True)
class StatusChange:
    target_id: int
    previous: str
    current: str
    at: datetime


@dataclass(eq=False)
class Subscriber(Generic[T]):
    """One subscription's queue; ``wants`` picks its events."""

    wants: Callable[[T], bool]
    queue: asyncio.Queue[T] = field(default_factory=lambda: asyncio.Queue(QUEUE_SIZE))
    dropped: int = 0

    def offer(self, event: T) -> None:
        if not self.wants(event):
            return
        if self.queue.full():
            self.queue.get_nowait()  # the stalest event goes
            self.dropped += 1
        self.queue.put_nowait(event)


def _set(event: asyncio.Event, _connection: object) -> None:
    event.set()


class LiveEvents:
    """The listener of one API process and its subscribers."""

    def __init__(self, database_url: str, pool: asyncpg.Pool) -> None:
        self.database_url = database_url
        self.pool = pool
        self.checks: set[Subscriber[CheckRow]] = set()
        # The same subscribers by the target they follow (None: every target), so that an
        # event reaches only its own, without asking each of hundreds.
        self._checks_of: dict[int | None, set[Subscriber[CheckRow]]] = {}
        self.changes: set[Subscriber[StatusChange]] = set()
        self.notifications: asyncio.Queue[str] = asyncio.Queue(QUEUE_SIZE * 4)
        self.listening = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._listen_forever()),
            asyncio.create_task(self._dispatch_forever()),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    @contextlib.asynccontextmanager
    async def subscribe_checks(
        self, target_ids: set[int] | None
    ) -> AsyncIterator[asyncio.Queue[CheckRow]]:
        subscriber: Subscriber[CheckRow] = Subscriber(lambda _row: True)
        keys: set[int | None] = {None} if target_ids is None else set(target_ids)
        self.checks.add(subscriber)
        for key in keys:
            self._checks_of.setdefault(key, set()).add(subscriber)
        try:
            yield subscriber.queue
        finally:
            self.checks.discard(subscriber)
            for key in keys:
                following = self._checks_of[key]
                following.discard(subscriber)
                if not following:
                    del self._checks_of[key]

    @contextlib.asynccontextmanager
    async def subscribe_changes(
        self, wants: Callable[[StatusChange], bool] | None = None
    ) -> AsyncIterator[asyncio.Queue[StatusChange]]:
        subscriber: Subscriber[StatusChange] = Subscriber(wants or (lambda _: True))
        self.changes.add(subscriber)
        try:
            yield subscriber.queue
        finally:
            self.changes.discard(subscriber)

    # -- listening --------------------------------------------------------------------------

    async def _listen_forever(self) -> None:
        delay = 0.5
        while True:
            try:
                connection = await asyncpg.connect(libpq_url(self.database_url), timeout=10)
            except (OSError, asyncpg.PostgresError, TimeoutError) as error:
                log.warning("live events: cannot listen (%s); retrying in %.0f s", error, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10)
                continue
            delay = 0.5
            closed = asyncio.Event()
            connection.add_termination_listener(functools.partial(_set, closed))
            try:
                await connection.add_listener(EVENTS_CHANNEL, self._notified)
                self.listening.set()
                await closed.wait()
                log.warning("live events: the listening connection closed; reconnecting")
            finally:
                self.listening.clear()
                if not connection.is_closed():
                    await connection.close()

    def _notified(self, _connection: Any, _pid: int, _channel: str, payload: str) -> None:
        if self.notifications.full():
            self.notifications.get_nowait()
        self.notifications.put_nowait(payload)

    async def _dispatch_forever(self) -> None:
        while True:
            payload = await self.notifications.get()
            try:
                await self._dispatch(json.loads(payload))
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
                log.warning("live events: could not read an event's rows: %s", error)
            except (ValueError, KeyError, TypeError):
                log.warning("live events: ignored a malformed event: %.200s", payload)

    async def _dispatch(self, event: dict[str, Any]) -> None:
        if "checks" in event and self.checks:
            keys = event["checks"]
            rows = await self.pool.fetch(
                f"""
                SELECT {CHECK_COLUMNS} FROM check_result
                WHERE (target_id, scheduled_for) IN (
                    SELECT * FROM unnest($1::bigint[], $2::timestamptz[]))
                """,
                [int(target_id) for target_id, _ in keys],
                [datetime.fromisoformat(slot) for _, slot in keys],
            )
            everything = list(self._checks_of.get(None, ()))
            for row in rows:
                check = CheckRow(**dict(row))
                for check_subscriber in [*everything, *self._checks_of.get(check.target_id, ())]:
                    check_subscriber.offer(check)
        for target_id, previous, current, slot in event.get("changes", []):
            change = StatusChange(int(target_id), previous, current, datetime.fromisoformat(slot))
            for change_subscriber in list(self.changes):
                change_subscriber.offer(change)
