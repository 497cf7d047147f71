"""Claim → probe → record: the worker's loop.

- Claims ahead: every poll takes, in batches, the slots that fall due within the next
  ``UPTIME_WORKER_CLAIM_AHEAD_SECONDS`` (their leases cover the wait), and sets a timer on the
  event loop for each at its slot, on the monotonic clock mapped from the database clock.
  When a timer fires, the slot goes to one of ``concurrency`` runners, which probes it
  outside any transaction and stamps its real start. Finished outcomes are recorded in
  batches (gathered for up to 0.5 s), each batch one fenced statement
  (``uptime_core.scheduling``).
- Polls at half the claim-ahead time (so every slot is claimed before it is due, and a new or
  changed target is seen within that time), with a little jitter so replicas do not poll in
  step; claims again at once after a full batch. Recording does not bring a claim forward:
  the worker that recorded a slot would then always take its next one, and one replica would
  keep every target while the others idle. It holds at most twice the concurrency of slots
  whose time has come (more would only run late: the rest stay in the database for other
  replicas), and of slots waiting for their time about two claim-ahead periods of what it has
  been starting.
- Times come from the database clock: read at each claim, carried forward by the monotonic
  clock (``DatabaseClock``).
- A lost database (unreachable, restarting, or unable to write) is retried with exponential
  backoff and jitter, logged once when the outage starts and once when it ends
  (``database.py``). While results cannot be recorded it claims nothing.
- On stop: claims nothing more, gives back the leases of slots it has not started (those
  waiting for their time too), lets the probes in flight finish and records them.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta, tzinfo
from typing import TypeVar

import asyncpg
from tenacity import RetryCallState

from uptime_core.probes import probe
from uptime_core.runtime.db import describe_error, is_outage
from uptime_core.runtime.settings import Settings
from uptime_core.scheduling.claim import ClaimedSlot, claim_due_targets, release_leases
from uptime_core.scheduling.record import CheckOutcome, record_results
from uptime_worker.database import DatabaseHealth
from uptime_worker.metrics import WorkerMetrics

log = logging.getLogger("uptime.worker")

T = TypeVar("T")

# The longest pause between two claims; shorter when the claim-ahead time is.
MAX_SLEEP_SECONDS = 1.0
# How long finished checks wait to be recorded together (unless a batch fills first): a record
# statement costs PostgreSQL about 1.7 ms however few rows it holds, so at light loads fewer,
# fuller statements are what saves its CPU (docs/scaling.md). Never more than a quarter of the
# lease margin, which must also cover the wait.
RECORD_GATHER_SECONDS = 0.5
# How long a stopping worker keeps trying to record what it has when the database is away.
RECORD_GRACE_SECONDS = 10.0
# How long the clock keeps its best reading (see DatabaseClock).
CLOCK_MEMORY_SECONDS = 30.0


class DatabaseClock:
    """The database's ``now()``, read at each claim and carried forward by the monotonic clock.

    A claim's ``now()`` is taken after the statement was sent, so the database clock minus the
    monotonic clock at sending is never below the true offset; the smallest such reading of the
    last ``CLOCK_MEMORY_SECONDS`` is the best estimate (a reading delayed by a busy server or
    event loop does not move the clock)."""

    def __init__(self) -> None:
        self._readings: deque[tuple[float, float]] = deque()  # (monotonic, offset)
        self._offset: float | None = None
        self._tz: tzinfo | None = None

    def sync(self, database_now: datetime, sent_at: float | None = None) -> None:
        """``database_now`` was read by a statement sent at monotonic ``sent_at`` (default:
        just now)."""
        at = time.monotonic() if sent_at is None else sent_at
        offset = database_now.timestamp() - at
        while self._readings and self._readings[-1][1] >= offset:
            self._readings.pop()
        self._readings.append((at, offset))
        while self._readings[0][0] < at - CLOCK_MEMORY_SECONDS:
            self._readings.popleft()
        self._offset = self._readings[0][1]
        self._tz = database_now.tzinfo

    def now(self) -> datetime:
        return self.at(time.monotonic())

    def at(self, monotonic: float) -> datetime:
        """The database time at ``monotonic``."""
        assert self._offset is not None, "read the database clock before using it"
        return datetime.fromtimestamp(monotonic + self._offset, self._tz)

    def monotonic(self, when: datetime) -> float:
        """The monotonic time at which the database clock reads ``when``."""
        assert self._offset is not None, "read the database clock before using it"
        return when.timestamp() - self._offset


class CheckLoop:
    """The claim → probe → record loop of one worker process."""

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
        if health is None:  # on its own (tests): connected, as far as it knows
            health = DatabaseHealth(self.metrics, pool)
            self.metrics.database_up.set(1)
        self.health = health
        self.worker_id = self.settings.worker_id
        self.concurrency = self.settings.worker_concurrency
        self.batch_size = self.settings.worker_batch_size
        self.record_gather = min(
            RECORD_GATHER_SECONDS, self.settings.worker_lease_margin_seconds / 4
        )
        self.ahead = self.settings.worker_claim_ahead_seconds
        # Polls at half the claim-ahead time: a slot freed (recorded) at least that long
        # before its time is claimed ahead by some replica's next poll.
        self.poll_seconds = min(MAX_SLEEP_SECONDS, 0.5 * self.ahead)
        # Claimed slots waiting for their time: a timer each, by target (one slot a target).
        self.waiting: dict[int, tuple[asyncio.TimerHandle, ClaimedSlot]] = {}
        # Slots whose time has come wait here for one of ``concurrency`` runners;
        # ``outstanding`` counts them and the ones being probed, and is kept under twice the
        # concurrency.
        self.claimed: asyncio.Queue[ClaimedSlot] = asyncio.Queue()
        self.outstanding = 0
        self.busy = 0
        self.idle = asyncio.Event()
        # Finished checks, each with when it should be recorded by (see RECORD_GATHER_SECONDS).
        self.outcomes: asyncio.Queue[tuple[CheckOutcome, float]] = asyncio.Queue()
        self.room = asyncio.Event()
        self.wake_at = 0.0
        self.clock = DatabaseClock()
        # Room worth a claim when the loop is full: half a batch (or of what can be held).
        self.useful_room = max(1, min(self.batch_size, 2 * self.concurrency) // 2)
        # Starts per second, measured between claims: sizes how many slots may wait.
        self.started = 0
        self.rate = 0.0
        self.rate_since = time.monotonic()
        self.record_deadline: float | None = None

    async def run(self) -> None:
        """Run until ``stopping`` is set, then wind down (see the module docstring)."""
        recorder = asyncio.create_task(self._record_forever())
        runners = [asyncio.create_task(self._run_checks()) for _ in range(self.concurrency)]
        try:
            await self._claim_until_stopped()
        finally:
            await self._wind_down(runners, recorder)

    # -- claiming --------------------------------------------------------------------------

    @property
    def waiting_limit(self) -> int:
        """How many slots may wait for their time: two claim-ahead periods of starts at the
        recent rate, and never fewer than twice the concurrency."""
        return max(2 * self.concurrency, int(2 * self.rate * self.ahead))

    def _measure_rate(self) -> None:
        now = time.monotonic()
        if (elapsed := now - self.rate_since) >= 0.25:
            weight = min(1.0, elapsed / 2.0)
            self.rate += weight * (self.started / elapsed - self.rate)
            self.started, self.rate_since = 0, now

    async def _claim_until_stopped(self) -> None:
        while not self.stopping.is_set():
            if not self.health.writable.is_set():
                # Results cannot be recorded (the recorder is retrying): probing more now
                # would only hold leases for results that could not be kept.
                await _first(self.stopping.wait(), self.health.writable.wait())
                continue
            self._measure_rate()
            room = min(
                2 * self.concurrency - self.outstanding, self.waiting_limit - len(self.waiting)
            )
            self.wake_at = time.monotonic() + self.poll_seconds + random.uniform(0, 0.02)
            if room > 0:
                limit = min(room, self.batch_size)
                claimed = await self._until_stopped(functools.partial(self._claim, limit))
                if claimed is None:
                    break
                self._schedule(claimed)
                if len(claimed) == limit:
                    await asyncio.sleep(0)  # let the runners start, then claim again
                    continue
            self.room.clear()
            # When full, wait until a useful batch fits rather than claim one slot at a time.
            await self._sleep(wake_on_room=room < self.useful_room)

    async def _claim(self, limit: int) -> list[ClaimedSlot]:
        margin = self.settings.worker_lease_margin_seconds
        sent_at = time.monotonic()
        claimed = await claim_due_targets(self.pool, self.worker_id, limit, margin, self.ahead)
        if claimed:
            self.clock.sync(claimed[0].claimed_at, sent_at)
        return claimed

    def _schedule(self, claimed: list[ClaimedSlot]) -> None:
        """A timer for each slot at its time on the monotonic clock; the overdue at once."""
        if not claimed:
            return
        self.metrics.claim_batch.observe(len(claimed))
        loop = asyncio.get_running_loop()
        for slot in claimed:
            if (stale := self.waiting.pop(slot.id, None)) is not None:
                # The target's slot moved (its settings changed) while an earlier one waited:
                # that one would only be fenced out.
                stale[0].cancel()
            at = self.clock.monotonic(slot.slot)
            if at <= loop.time():
                self._due(slot)
            else:
                self.waiting[slot.id] = (loop.call_at(at, self._due, slot), slot)

    def _due(self, slot: ClaimedSlot) -> None:
        """``slot``'s time has come: to the runners. (If a better reading of the database
        clock has since moved its time a little later, wait for that.)"""
        loop = asyncio.get_running_loop()
        if slot.id in self.waiting and (at := self.clock.monotonic(slot.slot)) > loop.time():
            self.waiting[slot.id] = (loop.call_at(at, self._due, slot), slot)
            return
        if self.waiting.pop(slot.id, None) is not None and (
            len(self.waiting) <= self.waiting_limit // 2
        ):
            self.room.set()
        self.outstanding += 1
        self.claimed.put_nowait(slot)

    async def _sleep(self, *, wake_on_room: bool) -> None:
        """Until ``wake_at``, a stop, or free room."""
        while (remaining := self.wake_at - time.monotonic()) > 0:
            waits = [self.stopping.wait()]
            if wake_on_room:
                waits.append(self.room.wait())
            tasks = [asyncio.ensure_future(w) for w in waits]
            _, pending = await asyncio.wait(
                tasks, timeout=remaining, return_when=asyncio.FIRST_COMPLETED
            )
            for task in pending:
                task.cancel()
            if self.stopping.is_set() or (wake_on_room and self.room.is_set()):
                return

    # -- probing ---------------------------------------------------------------------------

    async def _run_checks(self) -> None:
        """One of ``concurrency`` runners: probe slots whose time has come, one at a time."""
        while True:
            slot = await self.claimed.get()
            started_at = self.clock.now()
            finish_by = timedelta(seconds=slot.timeout_seconds + self.record_gather)
            if started_at + finish_by > slot.lease_expires_at:
                # It waited so long behind slower probes that its lease would lapse before its
                # result is recorded: give it back for any replica to run, rather than probe
                # it for nothing.
                self.outstanding -= 1
                await self._release([slot.id])
                continue
            self.busy += 1
            self.started += 1
            self.idle.clear()
            self.metrics.in_flight.inc()
            self.metrics.lag.observe(max(0.0, (started_at - slot.slot).total_seconds()))
            try:
                result = await probe(slot)
                finished_at = self.clock.now()
            except Exception:
                # probe() reports failures as results; this is a bug. The slot runs again
                # once its lease expires.
                log.exception("probing target %d failed", slot.id)
                continue
            finally:
                self.metrics.in_flight.dec()
                self.busy -= 1
                self.outstanding -= 1
                if self.busy == 0:
                    self.idle.set()
            self.metrics.checks.labels(kind=slot.kind, status=result.status.value).inc()
            # Recorded soon enough that its next slot (one retry interval away at the
            # soonest) is free to be claimed ahead: a tenth of that, at most the gather time.
            record_by = asyncio.get_running_loop().time() + min(
                self.record_gather, slot.next_slot_within / 10
            )
            self.outcomes.put_nowait(
                (CheckOutcome(slot.id, slot.slot, started_at, finished_at, result), record_by)
            )
            if 2 * self.concurrency - self.outstanding >= self.useful_room:
                self.room.set()

    # -- recording -------------------------------------------------------------------------

    async def _record_forever(self) -> None:
        while True:
            outcome, gathered = await self.outcomes.get()
            batch = [outcome]
            # Checks spread over time finish one by one: gather them a moment (unless a
            # batch fills first) rather than pay a statement for each.
            while len(batch) < self.batch_size:
                if self.outcomes.empty():
                    remaining = gathered - asyncio.get_running_loop().time()
                    if remaining <= 0 or self.stopping.is_set():
                        break
                    try:
                        async with asyncio.timeout(remaining):
                            outcome, record_by = await self.outcomes.get()
                    except TimeoutError:
                        break
                else:
                    outcome, record_by = self.outcomes.get_nowait()
                batch.append(outcome)
                gathered = min(gathered, record_by)
            try:
                await self._record(batch)
            except Exception:
                # Not an outage (those are retried): a bug or a bad row. Keep the worker
                # recording; these slots run again once their leases expire.
                log.exception("recording %d results failed", len(batch))
                self.health.writable.set()  # do not hold up claiming on a bug
            finally:
                for _ in batch:
                    self.outcomes.task_done()

    def _give_up_recording(self, _: RetryCallState) -> bool:
        """Retry through outages; once stopping, only until the shutdown grace runs out."""
        return self.record_deadline is not None and time.monotonic() > self.record_deadline

    async def _record(self, batch: list[CheckOutcome]) -> None:
        try:
            done = await self.health.retry(
                "record",
                lambda: record_results(self.pool, self.worker_id, batch),
                stop=self._give_up_recording,
                writing=True,
                attempted=self.metrics.statements.inc,
            )
        except Exception as error:
            if not is_outage(error):
                raise
            log.error(
                "gave up recording %d results while stopping: %s", len(batch), describe_error(error)
            )
            return
        self.metrics.record_batch.observe(len(batch))
        self.metrics.recorded.inc(done.recorded)
        self.metrics.fenced.inc(len(batch) - done.recorded)

    # -- stopping --------------------------------------------------------------------------

    async def _wind_down(
        self, runners: list[asyncio.Task[None]], recorder: asyncio.Task[None]
    ) -> None:
        self.stopping.set()
        self.record_deadline = time.monotonic() + RECORD_GRACE_SECONDS
        unstarted = []
        for timer, slot in self.waiting.values():
            timer.cancel()
            unstarted.append(slot.id)
        self.waiting.clear()
        while not self.claimed.empty():
            unstarted.append(self.claimed.get_nowait().id)
            self.outstanding -= 1
        if unstarted:
            await self._release(unstarted)
        if self.busy:
            log.info("waiting for %d probes in flight", self.busy)
            await self.idle.wait()
        for runner in runners:
            runner.cancel()  # all idle now, waiting for slots that will not come
        await asyncio.gather(*runners, return_exceptions=True)
        await self.outcomes.join()
        recorder.cancel()
        await asyncio.gather(recorder, return_exceptions=True)

    async def _release(self, target_ids: list[int]) -> None:
        try:
            self.metrics.statements.inc()
            released = await release_leases(self.pool, self.worker_id, target_ids)
        except Exception as error:
            if not is_outage(error):
                raise
            self.health.failed("claim", error)
            log.info(
                "could not give back %d slots (%s); their leases expire",
                len(target_ids),
                describe_error(error),
            )
            return
        self.metrics.released.inc(released)
        log.info("gave back %d unstarted slots", released)

    # -- retrying ---------------------------------------------------------------------------

    async def _until_stopped(self, operation: Callable[[], Awaitable[T]]) -> T | None:
        """``operation`` retried through outages; None once the worker is stopping."""
        try:
            return await self.health.retry(
                "claim",
                operation,
                stop=lambda _: self.stopping.is_set(),
                attempted=self.metrics.statements.inc,
            )
        except Exception as error:
            if self.stopping.is_set() and is_outage(error):
                return None
            raise


async def _first(*waits: Awaitable[object]) -> None:
    """Wait until the first of ``waits`` is done; cancel the others."""
    tasks = [asyncio.ensure_future(w) for w in waits]
    _, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
