"""The deliverers: claim due deliveries from the outbox, send them, record the outcome.

- Claims pending deliveries whose time has come with ``FOR UPDATE SKIP LOCKED`` and a lease
  (``uptime_core.alerting``), at most ``UPTIME_ALERT_CONCURRENCY`` in hand, polling about once
  a second (with jitter, so replicas do not poll in step).
- One claim, one attempt: the attempt is counted and the lease renewed to cover it, then one
  send, bounded as a whole by ``UPTIME_ALERT_SEND_TIMEOUT_SECONDS``. A failure writes the error
  and the next attempt's time (tenacity's exponential backoff with jitter, from the attempt
  count: ``UPTIME_ALERT_RETRY_INITIAL_SECONDS`` doubling up to
  ``UPTIME_ALERT_RETRY_MAX_SECONDS``) and clears the lease, so a delivery waiting for its
  retry holds no slot here; it is claimed again, by any worker, when it is due. Once the next
  attempt would start more than ``UPTIME_ALERT_DEADLINE_SECONDS`` after the delivery was
  written, or the answer is one retrying cannot change (a 4xx, a refused recipient), it is
  ``failed`` with its last error. An unexpected error (a bug) counts as a failed attempt too.
  A delivery whose lease was lost (this worker stalled) is left to its new holder.
- A worker killed mid-send holds its leases until they expire (the send timeout plus
  ``UPTIME_WORKER_LEASE_MARGIN_SECONDS``); another replica then sends those messages again,
  with the same idempotency key, so receivers can drop the duplicate.
- A database outage (``uptime_worker.database``) is reported, and logged once, like the check
  loop's: claims return nothing until it passes, and a delivery whose statement failed keeps
  its lease until it expires, then is claimed again.
- On stop: no new attempts; sends in flight may finish (each bounded by its timeout) and have
  their outcome written; the rest are given back at once for another replica. A message that
  went out is never given back, even if writing "sent" was cut short.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
import traceback

import asyncpg
from tenacity import AsyncRetrying, RetryCallState, wait_exponential_jitter

from uptime_core.alerting.outbox import (
    ClaimedDelivery,
    attempt_failed,
    begin_attempt,
    claim_due_deliveries,
    mark_sent,
    release_deliveries,
)
from uptime_core.alerting.send import SendError, describe_unexpected, send
from uptime_core.runtime.db import describe_error, is_outage
from uptime_core.runtime.settings import Settings
from uptime_worker.database import DatabaseHealth
from uptime_worker.metrics import WorkerMetrics

log = logging.getLogger("uptime.worker")

POLL_SECONDS = 1.0


class Deliverer:
    """The deliverers of one worker process."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        settings: Settings,
        stopping: asyncio.Event,
        metrics: WorkerMetrics | None = None,
        health: DatabaseHealth | None = None,
    ) -> None:
        self.pool = pool
        self.settings = settings
        self.stopping = stopping
        self.metrics = metrics if metrics is not None else WorkerMetrics()
        self.health = health if health is not None else DatabaseHealth(self.metrics, pool)
        self.worker_id = self.settings.worker_id
        self.timeout = self.settings.alert_send_timeout_seconds
        # A lease covers one attempt and the write of its outcome.
        self.lease_seconds = self.timeout + self.settings.worker_lease_margin_seconds
        # Tenacity's exponential backoff with jitter, computed from a delivery's attempt count
        # when an attempt fails (the wait happens between claims, not in a task).
        self.backoff = wait_exponential_jitter(
            multiplier=self.settings.alert_retry_initial_seconds,
            max=self.settings.alert_retry_max_seconds,
            jitter=self.settings.alert_retry_initial_seconds,
        )
        self.tasks: dict[int, asyncio.Task[None]] = {}
        # From the start of a send until its outcome is written: not cancelled at wind-down.
        self.sending: set[int] = set()
        # Sent, "sent" not yet written: never given back (another worker would send it again).
        self.went_out: set[int] = set()
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
            await self.health.expire_if_pending()
            claimed = await claim_due_deliveries(
                self.pool,
                self.worker_id,
                room,
                self.lease_seconds,
                self.settings.alert_deadline_seconds,
            )
        except Exception as error:
            if not is_outage(error):
                raise
            # Claimed again at the next poll, about a second on.
            self.health.failed("deliver", error)
            return []
        self.health.succeeded("deliver")
        return claimed

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

    def retry_wait(self, attempts: int) -> float:
        """Seconds before the next attempt after ``attempts`` failed ones (tenacity's formula:
        initial x 2^(attempts-1) plus up to initial of jitter, at most the maximum)."""
        state = RetryCallState(AsyncRetrying(), None, (), {})
        state.attempt_number = max(attempts, 1)
        return float(self.backoff(state))

    async def _deliver(self, delivery: ClaimedDelivery) -> None:
        try:
            await self._attempt(delivery)
        except Exception as error:
            # A statement failed (the database is away, or a bug in one): nothing can be
            # written, so the lease expires and the row is claimed again. Failures of the
            # send itself, expected or not, are recorded in ``_attempt``.
            self.went_out.discard(delivery.id)
            if is_outage(error):
                self.health.failed("deliver", error)
            else:
                log.exception("delivery %d: a statement failed", delivery.id)

    async def _attempt(self, delivery: ClaimedDelivery) -> None:
        if self.stopping.is_set():
            return  # winding down: no new attempt; the row is given back
        attempts = await begin_attempt(self.pool, delivery.id, self.worker_id, self.lease_seconds)
        if attempts is None:
            log.warning("delivery %d: lease lost to another worker; leaving it", delivery.id)
            return
        self.sending.add(delivery.id)
        try:
            try:
                await send(delivery, self.timeout)
            except SendError as error:
                await self._failed(delivery, attempts, str(error), permanent=error.permanent)
                return
            except Exception as error:
                # A bug (a malformed row, say): a failed attempt like any other, so the
                # deadline applies, with the error's type and message (secrets taken out).
                described = describe_unexpected(error, delivery)
                frames = "".join(traceback.format_tb(error.__traceback__))
                log.error("delivery %d: unexpected error: %s\n%s", delivery.id, described, frames)
                await self._failed(delivery, attempts, described, permanent=False)
                return
            self.went_out.add(delivery.id)
            await mark_sent(self.pool, delivery.id)
            self.went_out.discard(delivery.id)
        finally:
            self.sending.discard(delivery.id)
        self.metrics.deliveries.labels(kind=delivery.kind.value, outcome="sent").inc()
        log.info(
            "delivery %d (%s to channel %d) sent on attempt %d",
            delivery.id,
            delivery.event,
            delivery.channel_id,
            attempts,
        )

    async def _failed(
        self, delivery: ClaimedDelivery, attempts: int, error: str, *, permanent: bool
    ) -> None:
        wait = 0.0 if permanent else self.retry_wait(attempts)
        state = await attempt_failed(
            self.pool,
            delivery.id,
            self.worker_id,
            error,
            retry_in_seconds=wait,
            permanent=permanent,
            deadline_seconds=self.settings.alert_deadline_seconds,
        )
        if state is None:
            log.warning("delivery %d: lease lost to another worker; leaving it", delivery.id)
        elif state == "failed":
            self.metrics.deliveries.labels(kind=delivery.kind.value, outcome="failed").inc()
            log.warning(
                "delivery %d (%s to channel %d) failed for good after %d attempts: %s",
                delivery.id,
                delivery.event,
                delivery.channel_id,
                attempts,
                error,
            )
        else:
            self.metrics.deliveries.labels(kind=delivery.kind.value, outcome="retried").inc()
            log.info(
                "delivery %d: attempt %d failed (%s); next in %.1f s",
                delivery.id,
                attempts,
                error,
                wait,
            )

    async def _wind_down(self) -> None:
        """Let sends in flight finish and write their outcome (bounded by the send timeout),
        give back everything else; never give back a message that went out."""
        held = list(self.tasks)
        for delivery_id, task in list(self.tasks.items()):
            if delivery_id not in self.sending:
                task.cancel()
        if self.tasks:
            await asyncio.wait(list(self.tasks.values()), timeout=self.timeout + 1)
        for task in list(self.tasks.values()):
            task.cancel()
        await asyncio.gather(*self.tasks.values(), return_exceptions=True)
        for delivery_id in list(self.went_out):
            # Its send completed but writing "sent" was cut short: write it now.
            try:
                await mark_sent(self.pool, delivery_id)
            except Exception as error:
                if not is_outage(error):
                    log.exception("delivery %d: recording it sent failed", delivery_id)
                else:
                    log.info(
                        "delivery %d: could not record it sent (%s)",
                        delivery_id,
                        describe_error(error),
                    )
        give_back = [delivery_id for delivery_id in held if delivery_id not in self.went_out]
        if give_back:
            try:
                released = await release_deliveries(self.pool, self.worker_id, give_back)
            except Exception as error:
                if not is_outage(error):
                    log.exception("giving back deliveries failed")
                return
            if released:
                log.info("gave back %d deliveries", released)
