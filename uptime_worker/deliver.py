"""The deliverers: claim due deliveries from the outbox, send them, retry, record the outcome.

- Claims pending deliveries whose time has come with ``FOR UPDATE SKIP LOCKED`` and a lease
  (``uptime_core.alerting``), at most ``UPTIME_ALERT_CONCURRENCY`` in hand, polling about once
  a second (with jitter, so replicas do not poll in step).
- Each delivery is retried in this process with tenacity: exponential backoff with jitter from
  ``UPTIME_ALERT_RETRY_INITIAL_SECONDS`` up to ``UPTIME_ALERT_RETRY_MAX_SECONDS`` apart, until
  ``UPTIME_ALERT_DEADLINE_SECONDS`` after the delivery was written; then it is ``failed`` with
  its last error. An answer that retrying cannot change (a 4xx, a refused recipient) fails it
  at once. Before each attempt the lease is renewed to cover it (and the attempt counted);
  after a failure the error, the next attempt's time and a lease covering the wait are
  written. A delivery whose lease was lost (this worker stalled) is left to its new holder.
- A worker killed mid-send holds its leases until they expire (the send timeout plus
  ``UPTIME_WORKER_LEASE_MARGIN_SECONDS``); another replica then sends those messages again,
  with the same idempotency key, so receivers can drop the duplicate.
- On stop: no new attempts; sends in flight may finish (each bounded by its timeout); the rest
  are given back at once for another replica.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
import time
from dataclasses import dataclass, field

import asyncpg
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, wait_exponential_jitter

from uptime_core.alerting import (
    ATTEMPT_FAILED,
    BEGIN_ATTEMPT,
    MARK_FAILED,
    MARK_SENT,
    RELEASE_DELIVERIES,
    ClaimedDelivery,
    claim_due_deliveries,
)
from uptime_core.alerting_send import SendError, send
from uptime_core.settings import Settings
from uptime_worker.loop import WorkerMetrics, is_connection_error

log = logging.getLogger("uptime.worker")

POLL_SECONDS = 1.0


class LeaseLost(Exception):
    """Another worker holds the delivery now (this one stalled past its lease)."""


def _retryable(error: BaseException) -> bool:
    return isinstance(error, SendError) and not error.permanent


@dataclass
class Deliverer:
    """The deliverers of one worker process."""

    pool: asyncpg.Pool
    settings: Settings
    stopping: asyncio.Event
    metrics: WorkerMetrics = field(default_factory=WorkerMetrics)

    def __post_init__(self) -> None:
        self.worker_id = self.settings.worker_id
        self.timeout = self.settings.alert_send_timeout_seconds
        # A lease covers one attempt and the write of its outcome.
        self.lease_seconds = self.timeout + self.settings.worker_lease_margin_seconds
        self.tasks: dict[int, asyncio.Task[None]] = {}
        self.sending: set[int] = set()
        self.freed = asyncio.Event()

    async def run(self) -> None:
        """Claim and deliver until ``stopping`` is set, then wind down."""
        try:
            while not self.stopping.is_set():
                room = self.settings.alert_concurrency - len(self.tasks)
                if room > 0:
                    try:
                        claimed = await self._claim(room)
                    except Exception:
                        # Not an outage (those return nothing): a bug. Keep delivering.
                        log.exception("claiming deliveries failed")
                        claimed = []
                    for delivery in claimed:
                        task = asyncio.create_task(self._deliver(delivery))
                        self.tasks[delivery.id] = task
                        task.add_done_callback(functools.partial(self._done, delivery.id))
                await self._pause()
        finally:
            await self._wind_down()

    def _done(self, delivery_id: int, _: asyncio.Task[None]) -> None:
        self.tasks.pop(delivery_id, None)
        self.freed.set()

    async def _claim(self, room: int) -> list[ClaimedDelivery]:
        try:
            return await claim_due_deliveries(
                self.pool,
                self.worker_id,
                room,
                self.lease_seconds,
                self.settings.alert_deadline_seconds,
            )
        except Exception as error:
            if not is_connection_error(error):
                raise
            # The check loop logs outages; deliveries wait for the database like checks do.
            return []

    async def _pause(self) -> None:
        self.freed.clear()
        waits = [asyncio.ensure_future(self.stopping.wait())]
        if len(self.tasks) >= self.settings.alert_concurrency:
            waits.append(asyncio.ensure_future(self.freed.wait()))
        _, pending = await asyncio.wait(
            waits, timeout=POLL_SECONDS * random.uniform(0.8, 1.2), return_when="FIRST_COMPLETED"
        )
        for task in pending:
            task.cancel()

    async def _deliver(self, delivery: ClaimedDelivery) -> None:
        deadline = time.monotonic() + max(delivery.seconds_left, 0.0)

        async def failed(state: RetryCallState) -> None:
            await self._attempt_failed(delivery, state)

        retrying = AsyncRetrying(
            retry=retry_if_exception(_retryable),
            wait=wait_exponential_jitter(
                multiplier=self.settings.alert_retry_initial_seconds,
                max=self.settings.alert_retry_max_seconds,
                jitter=self.settings.alert_retry_initial_seconds,
            ),
            # Stop once the next attempt would start after the deadline.
            stop=lambda state: time.monotonic() + (state.upcoming_sleep or 0) >= deadline,
            before_sleep=failed,
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    await self._attempt(delivery)
        except LeaseLost:
            log.warning("delivery %d: lease lost to another worker; leaving it", delivery.id)
        except SendError as error:
            try:
                await self.pool.execute(MARK_FAILED, delivery.id, self.worker_id, str(error))
            except Exception as failure:
                if not is_connection_error(failure):
                    raise
                return  # the lease expires; the next holder tries (and fails) once more
            self.metrics.deliveries.inc(kind=delivery.kind.value, outcome="failed")
            log.warning(
                "delivery %d (%s to channel %d) failed for good: %s",
                delivery.id,
                delivery.event,
                delivery.channel_id,
                error,
            )
        except Exception as error:
            if not is_connection_error(error):
                log.exception("delivery %d: unexpected error", delivery.id)
            # Its lease expires and it is claimed again.

    async def _attempt(self, delivery: ClaimedDelivery) -> None:
        attempts = await self.pool.fetchval(
            BEGIN_ATTEMPT, delivery.id, self.worker_id, self.lease_seconds
        )
        if attempts is None:
            raise LeaseLost
        self.sending.add(delivery.id)
        try:
            await send(delivery, self.timeout)
        finally:
            self.sending.discard(delivery.id)
        await self.pool.execute(MARK_SENT, delivery.id)
        self.metrics.deliveries.inc(kind=delivery.kind.value, outcome="sent")
        log.info(
            "delivery %d (%s to channel %d) sent on attempt %d",
            delivery.id,
            delivery.event,
            delivery.channel_id,
            attempts,
        )

    async def _attempt_failed(self, delivery: ClaimedDelivery, state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        wait = state.upcoming_sleep
        self.metrics.deliveries.inc(kind=delivery.kind.value, outcome="retried")
        log.info("delivery %d: attempt failed (%s); retrying in %.1f s", delivery.id, error, wait)
        still_mine = await self.pool.fetchval(
            ATTEMPT_FAILED, delivery.id, self.worker_id, str(error), wait, self.lease_seconds
        )
        if still_mine is None:
            raise LeaseLost

    async def _wind_down(self) -> None:
        """Let sends in flight finish (bounded by their timeout), give back everything else."""
        held = list(self.tasks)
        for delivery_id, task in list(self.tasks.items()):
            if delivery_id not in self.sending:
                task.cancel()
        if self.tasks:
            await asyncio.wait(list(self.tasks.values()), timeout=self.timeout + 1)
        for task in list(self.tasks.values()):
            task.cancel()
        await asyncio.gather(*self.tasks.values(), return_exceptions=True)
        if held:
            with contextlib.suppress(Exception):
                status = await self.pool.execute(RELEASE_DELIVERIES, self.worker_id, held)
                released = int(status.split()[-1])
                if released:
                    log.info("gave back %d deliveries", released)
