"""The listener: one PostgreSQL LISTEN per API process, its subscribers, and the dispatch of
each event to them.

Workers announce recorded slots and state changes with NOTIFY (``uptime_core.events``: the
channel, the payloads and ``parse``). This process LISTENs on one connection, reads the rows
the events name (one query per notification, only when someone wants them), and hands each
row, one object, to every interested subscriber's bounded queue (``fanout``). A subscriber that
falls behind loses its oldest events; it never slows the listener or the other subscribers. A
lost listening connection is reopened with backoff; events sent meanwhile are missed (live
views show the next ones).

The same connection LISTENs for revoked tokens (``uptime_core.tokens.TOKENS_CHANNEL``): each id
goes to ``on_token_revoked``, and ``on_listening`` runs each time listening (re)starts, so that
what was missed meanwhile can be caught up (``uptime_graphql.sessions``).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any, TypeVar

import asyncpg

from uptime_core.events import EVENTS_CHANNEL, ChecksRecorded, Event, StatusChange, parse
from uptime_core.history import CHECK_COLUMNS, CheckRow
from uptime_core.runtime.db import describe_error, libpq_url
from uptime_core.tokens import TOKENS_CHANNEL
from uptime_graphql.live.fanout import BATCH_QUEUE_SIZE, QUEUE_SIZE, BatchGroup, Subscriber

log = logging.getLogger("uptime.live")

B = TypeVar("B")


def _keys(target_ids: Iterable[int] | None) -> set[int | None]:
    return {None} if target_ids is None else set(target_ids)


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
        self._batch_groups: dict[tuple[frozenset[int] | None, float], BatchGroup[Any]] = {}
        self.notifications: asyncio.Queue[str] = asyncio.Queue(QUEUE_SIZE * 4)
        self.listening = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        # Revoked tokens (their ids), and what to do when listening (re)starts.
        self.on_token_revoked: Callable[[int], Awaitable[object]] | None = None
        self.on_listening: Callable[[], Awaitable[object]] | None = None
        self._token_tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._listen_forever()),
            asyncio.create_task(self._dispatch_forever()),
        ]

    async def stop(self) -> None:
        for group in list(self._batch_groups.values()):
            if group.task is not None:
                self._tasks.append(group.task)
        self._tasks.extend(self._token_tasks)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    @contextlib.asynccontextmanager
    async def subscribe_checks(
        self, target_ids: set[int] | None
    ) -> AsyncIterator[asyncio.Queue[CheckRow]]:
        subscriber: Subscriber[CheckRow] = Subscriber(lambda _row: True)
        self._follow(subscriber, target_ids)
        try:
            yield subscriber.queue
        finally:
            self._unfollow(subscriber, target_ids)

    def _follow(self, subscriber: Subscriber[CheckRow], target_ids: Iterable[int] | None) -> None:
        self.checks.add(subscriber)
        for key in _keys(target_ids):
            self._checks_of.setdefault(key, set()).add(subscriber)

    def _unfollow(self, subscriber: Subscriber[CheckRow], target_ids: Iterable[int] | None) -> None:
        self.checks.discard(subscriber)
        for key in _keys(target_ids):
            following = self._checks_of[key]
            following.discard(subscriber)
            if not following:
                del self._checks_of[key]

    @contextlib.asynccontextmanager
    async def subscribe_check_batches(
        self,
        target_ids: set[int] | None,
        delay: float,
        convert: Callable[[list[CheckRow]], B],
    ) -> AsyncIterator[asyncio.Queue[B]]:
        """Batches of checks (as ``convert`` makes them), at most one per ``delay`` seconds
        from the group of every subscriber with the same targets and delay; the queue holds
        the batches not yet taken (the oldest go when it is full)."""
        key = (None if target_ids is None else frozenset(target_ids), delay)
        group = self._batch_groups.get(key)
        if group is None:
            group = BatchGroup(key[0], delay, convert)
            self._follow(group.rows, key[0])
            group.task = asyncio.create_task(group.run())
            self._batch_groups[key] = group
        subscriber: Subscriber[B] = Subscriber(lambda _batch: True, asyncio.Queue(BATCH_QUEUE_SIZE))
        group.members.add(subscriber)
        try:
            yield subscriber.queue
        finally:
            group.members.discard(subscriber)
            if not group.members and self._batch_groups.get(key) is group:
                del self._batch_groups[key]
                self._unfollow(group.rows, key[0])
                if group.task is not None:
                    group.task.cancel()

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
        # An outage is logged once when it starts and once when it ends, not at every retry.
        delay = 0.5
        down_since: float | None = None
        while True:
            try:
                connection = await asyncpg.connect(libpq_url(self.database_url), timeout=10)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as error:
                if down_since is None:
                    down_since = time.monotonic()
                    log.warning("live events: cannot listen (%s); retrying", describe_error(error))
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10)
                continue
            delay = 0.5
            if down_since is not None:
                log.info("live events: listening again after %.0f s", time.monotonic() - down_since)
                down_since = None
            closed = asyncio.Event()
            connection.add_termination_listener(functools.partial(_set, closed))
            try:
                await connection.add_listener(EVENTS_CHANNEL, self._notified)
                await connection.add_listener(TOKENS_CHANNEL, self._token_revoked)
                self.listening.set()
                if self.on_listening is not None:
                    self._run_token_task(self.on_listening())
                await closed.wait()
                down_since = time.monotonic()
                log.warning("live events: the listening connection closed; reconnecting")
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
                down_since = time.monotonic()
                log.warning("live events: cannot listen (%s); retrying", describe_error(error))
            finally:
                self.listening.clear()
                if not connection.is_closed():
                    connection.terminate()

    def _notified(self, _connection: Any, _pid: int, _channel: str, payload: str) -> None:
        if self.notifications.full():
            self.notifications.get_nowait()
        self.notifications.put_nowait(payload)

    def _token_revoked(self, _connection: Any, _pid: int, _channel: str, payload: str) -> None:
        if self.on_token_revoked is None:
            return
        try:
            token_id = int(payload)
        except ValueError:
            log.warning("live events: ignored a malformed token revocation: %.200s", payload)
            return
        self._run_token_task(self.on_token_revoked(token_id))

    def _run_token_task(self, work: Awaitable[object]) -> None:
        async def run() -> None:
            try:
                await work
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
                log.warning("live events: could not check revoked tokens: %s", error)

        task = asyncio.create_task(run())
        self._token_tasks.add(task)
        task.add_done_callback(self._token_tasks.discard)

    async def _dispatch_forever(self) -> None:
        while True:
            payload = await self.notifications.get()
            try:
                for event in parse(payload):
                    await self._dispatch(event)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
                log.warning("live events: could not read an event's rows: %s", error)
            except (ValueError, KeyError, TypeError):
                log.warning("live events: ignored a malformed event: %.200s", payload)

    async def _dispatch(self, event: Event) -> None:
        if isinstance(event, ChecksRecorded):
            if not self.checks:
                return  # nobody follows checks: their rows are not read
            rows = await self.pool.fetch(
                f"""
                SELECT {CHECK_COLUMNS} FROM check_result
                WHERE (target_id, scheduled_for) IN (
                    SELECT * FROM unnest($1::bigint[], $2::timestamptz[]))
                """,
                [target_id for target_id, _ in event.checks],
                [slot for _, slot in event.checks],
            )
            everything = list(self._checks_of.get(None, ()))
            for row in rows:
                check = CheckRow(**dict(row))  # one object, offered to every subscriber
                for check_subscriber in [*everything, *self._checks_of.get(check.target_id, ())]:
                    check_subscriber.offer(check)
            return
        for change in event.changes:
            for change_subscriber in list(self.changes):
                change_subscriber.offer(change)
