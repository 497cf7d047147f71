"""How a worker lives through its database going away: every statement is retried through an
outage, and an outage is logged once when it starts and once when it ends.

Each path that touches the database (``claim``: the check loop's claims; ``record``: recording
results; ``deliver``: the notification outbox; ``upkeep``: partitions and pruning) reports its
failures and successes here under its own name. An outage (``uptime_core.runtime.db.is_outage``: the
database unreachable, restarting, crashed, or unable to write) starts with the first failure of
any path: one WARNING line naming the error's class and message, no traceback. It ends when
every path that failed has succeeded again: one INFO line with its length. So a restart
that each path meets on its own connection is still one outage, logged twice in all.

While recording fails, ``/readyz`` answers 503 and ``uptime_worker_database_writable`` is 0,
and the check loop claims nothing (what it probed could not be stored).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import asyncpg
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, wait_exponential_jitter

from uptime_core.runtime.db import describe_error, is_outage
from uptime_worker.metrics import WorkerMetrics

log = logging.getLogger("uptime.worker")

T = TypeVar("T")


def never(_: RetryCallState) -> bool:
    """A tenacity stop condition: retry until the outage passes."""
    return False


class DatabaseHealth:
    """One worker's view of its database: whether its statements succeed and whether it can
    record results (see the module docstring)."""

    def __init__(self, metrics: WorkerMetrics, pool: asyncpg.Pool | None = None) -> None:
        self.metrics = metrics
        self.pool = pool
        self.failing: dict[str, BaseException] = {}
        self.since: float | None = None
        self.write_error: BaseException | None = None
        # Set while results can be recorded; the check loop waits on it before claiming.
        self.writable = asyncio.Event()
        self.writable.set()
        self.expire_pending = False
        metrics.database_writable.set(1)

    def failed(self, path: str, error: BaseException, *, writing: bool = False) -> None:
        """``path`` met an outage error (``writing``: recording results failed)."""
        if self.since is None:
            self.since = time.monotonic()
            self.metrics.outages.inc()
            self.metrics.database_up.set(0)
            log.warning(
                "database unavailable (%s); retrying until it returns", describe_error(error)
            )
        self.failing[path] = error
        if writing:
            self.write_error = error
            self.writable.clear()
            self.metrics.database_writable.set(0)
        # After a restart every pooled connection is dead: replace them all before the next
        # attempt rather than find that out one attempt (and one backoff) at a time.
        self.expire_pending = True

    async def expire_if_pending(self) -> None:
        """Replace the pool's connections if a failure since the last call asked for it."""
        if self.expire_pending and self.pool is not None:
            self.expire_pending = False
            await self.pool.expire_connections()

    def succeeded(self, path: str, *, writing: bool = False) -> None:
        """A statement of ``path`` succeeded (``writing``: results were recorded)."""
        if writing and self.write_error is not None:
            self.write_error = None
            self.writable.set()
            self.metrics.database_writable.set(1)
        if self.failing.pop(path, None) is not None and not self.failing:
            assert self.since is not None
            log.info("database reachable again after %.1f s", time.monotonic() - self.since)
            self.since = None
            self.metrics.database_up.set(1)

    def problem(self) -> str | None:
        """Why the worker cannot do its work now (for ``/readyz``), or None."""
        if self.write_error is not None:
            return f"results cannot be written: {describe_error(self.write_error)}"
        if self.failing and self.since is not None:
            error = next(iter(self.failing.values()))
            seconds = time.monotonic() - self.since
            return f"database unavailable for {seconds:.0f} s: {describe_error(error)}"
        return None

    async def retry(
        self,
        path: str,
        operation: Callable[[], Awaitable[T]],
        *,
        stop: Callable[[RetryCallState], bool] = never,
        writing: bool = False,
        attempted: Callable[[], None] | None = None,
    ) -> T:
        """``operation`` retried through outages (exponential backoff with jitter, at most
        about a second apart, so work resumes within seconds of the database's return; a try
        costs one failed connection attempt) until ``stop``
        says to give up; then its last error is raised. Other errors are raised at once."""

        def before_sleep(state: RetryCallState) -> None:
            error = state.outcome.exception() if state.outcome else None
            if error is not None:
                self.failed(path, error, writing=writing)

        async for attempt in AsyncRetrying(
            retry=retry_if_exception(is_outage),
            wait=wait_exponential_jitter(multiplier=0.05, max=1.0, jitter=0.25),
            stop=stop,
            before_sleep=before_sleep,
            reraise=True,
        ):
            with attempt:
                await self.expire_if_pending()
                if attempted is not None:
                    attempted()
                value = await operation()
        self.succeeded(path, writing=writing)
        return value
