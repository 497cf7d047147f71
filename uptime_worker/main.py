"""The worker process: lifecycle, signals, and its health and metrics endpoints.

Starts its health server at once (so ``/healthz`` answers while the database is still away),
connects to the database (retrying with backoff), then runs the check loop and the
deliverers of notifications (``deliver.py``) until SIGTERM or SIGINT, after which both wind
down as ``loop.py`` and ``deliver.py`` describe and it exits 0. Before the event loop runs, a
stop signal raises ``Shutdown`` (``uptime_core.runtime.signals``; the process exits 0 at once);
from then on it sets ``stopping``. Once connected, what it has built so far is frozen out of
the garbage collector's full collections (``gc.freeze``), which would otherwise stall the event
loop, and every check due meanwhile, for about 100 ms.

A database outage never ends the process (``database.py``): ``/readyz`` answers 503 with the
reason while it lasts or while results cannot be written, and the metrics
``uptime_worker_database_up`` and ``uptime_worker_database_writable`` go to 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import logging
import signal
from types import FrameType

import asyncpg
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, wait_exponential_jitter

from uptime_core.alerting.outbox import prune_deliveries
from uptime_core.retention import manage_partitions_once
from uptime_core.runtime.db import (
    create_pool,
    describe_error,
    describe_host,
    is_outage,
    unreachable,
)
from uptime_core.runtime.health import readiness_problem
from uptime_core.runtime.migrations import current_revision
from uptime_core.runtime.settings import ConfigurationError, Settings
from uptime_core.runtime.signals import STOP_SIGNALS
from uptime_worker.database import DatabaseHealth
from uptime_worker.deliver import Deliverer
from uptime_worker.loop import CheckLoop
from uptime_worker.metrics import WorkerMetrics

log = logging.getLogger("uptime.worker")

SCHEMA_POLL_SECONDS = 2.0
PARTITION_MAINTENANCE_SECONDS = 3600.0
_REASONS = {200: "OK", 404: "Not Found", 405: "Method Not Allowed", 503: "Service Unavailable"}


def run_worker(settings: Settings, database_url: str) -> int:
    """Run until SIGTERM or SIGINT; the exit code."""
    return asyncio.run(Worker(settings, database_url).run())


class Worker:
    """One worker process."""

    def __init__(self, settings: Settings, database_url: str) -> None:
        self.settings = settings
        self.database_url = database_url
        self.stopping = asyncio.Event()
        self.metrics = WorkerMetrics()
        self.metrics.database_up.set(0)  # until connected
        self.health = DatabaseHealth(self.metrics)
        self.pool: asyncpg.Pool | None = None

    async def run(self) -> int:
        # signal.signal rather than loop.add_signal_handler: the handlers it replaces (the
        # entry module's) come back afterwards, where the loop's would leave the default
        # action, which for PID 1 in a container means a SIGTERM that is ignored.
        loop = asyncio.get_running_loop()

        def stop(_signum: int, _frame: FrameType | None) -> None:
            loop.call_soon_threadsafe(self.stopping.set)

        previous = {signum: signal.signal(signum, stop) for signum in STOP_SIGNALS}
        try:
            return await self._run()
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    async def _run(self) -> int:
        host, port = self.settings.worker_health_host, self.settings.worker_health_port
        try:
            health = await asyncio.start_server(self._serve_health, host, port)
        except OSError as error:
            raise ConfigurationError(
                f"cannot serve the worker's health endpoints on {host}:{port} "
                f"({error.strerror}); set UPTIME_WORKER_HEALTH_PORT to a free port"
            ) from None
        log.info(
            "worker %s started; health on http://%s:%d",
            self.settings.worker_id,
            self.settings.worker_health_host,
            self.settings.worker_health_port,
        )
        try:
            connect = asyncio.create_task(self._connect())
            stop = asyncio.create_task(self.stopping.wait())
            await asyncio.wait({connect, stop}, return_when=asyncio.FIRST_COMPLETED)
            if connect.done():
                self.pool = connect.result()
                self.health.pool = self.pool
                self.metrics.database_up.set(1)
                if await self._wait_for_schema(self.pool):
                    # What exists by now (modules, settings, the pool) lives as long as the
                    # process: out of the collector's sight, a full collection takes well under
                    # a millisecond instead of about 100 ms, which would hold up every check due
                    # in that time.
                    gc.collect()
                    gc.freeze()
                    partitions = asyncio.create_task(self._manage_partitions(self.pool))
                    deliverer = asyncio.create_task(
                        Deliverer(
                            self.pool, self.settings, self.stopping, self.metrics, self.health
                        ).run()
                    )
                    try:
                        await CheckLoop(
                            self.pool, self.settings, self.stopping, self.metrics, self.health
                        ).run()
                    finally:
                        partitions.cancel()
                        # The check loop sets ``stopping`` when it winds down; the deliverer
                        # then finishes its sends in flight and gives the rest back.
                        self.stopping.set()
                        await asyncio.gather(deliverer, return_exceptions=True)
                        await asyncio.gather(partitions, return_exceptions=True)
            else:
                connect.cancel()
            stop.cancel()
            log.info("worker %s stopping", self.settings.worker_id)
        finally:
            health.close()
            await health.wait_closed()
            if self.pool is not None:
                await self.pool.close()
        log.info("worker %s stopped", self.settings.worker_id)
        return 0

    async def _connect(self) -> asyncpg.Pool:
        """A pool, retrying with backoff; one log line per outage, not one per attempt."""
        where = describe_host(self.database_url)

        def first_failure(state: RetryCallState) -> None:
            error = state.outcome.exception() if state.outcome else None
            if state.attempt_number == 1 and error is not None:
                log.warning(
                    "database at %s unreachable (%s); retrying", where, describe_error(error)
                )

        async for attempt in AsyncRetrying(
            retry=retry_if_exception(is_outage),
            wait=wait_exponential_jitter(multiplier=0.5, max=10),
            before_sleep=first_failure,
            reraise=True,
        ):
            with attempt:
                try:
                    pool = await create_pool(self.database_url, self.settings)
                except asyncpg.PostgresError as error:
                    if is_outage(error):
                        raise
                    # Wrong database, user or password: retrying will not help.
                    raise unreachable(self.database_url, error) from None
        log.info("worker %s connected to the database at %s", self.settings.worker_id, where)
        return pool

    async def _wait_for_schema(self, pool: asyncpg.Pool) -> bool:
        """Wait until the schema is the code's (the migration job may still be running);
        False if told to stop first."""
        logged = False
        while (problem := await readiness_problem(lambda: current_revision(pool))) is not None:
            if not logged:
                log.warning("waiting before checking anything: %s", problem)
                logged = True
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), timeout=SCHEMA_POLL_SECONDS)
            if self.stopping.is_set():
                return False
        if logged:
            log.info("the database schema is current; starting to check")
        return True

    async def _manage_partitions(self, pool: asyncpg.Pool) -> None:
        """Keep check_result's day partitions made ahead and expired ones dropped, and delete
        finished deliveries as old: now, then every hour. Replicas take turns at partitions
        through an advisory lock (pruning twice is harmless). An outage is retried until it
        passes; a bug is logged and waits for the next round (partitions exist a week ahead)."""

        async def upkeep() -> None:
            async with pool.acquire() as connection:
                await manage_partitions_once(connection, self.settings.retention_days)
                await prune_deliveries(connection, self.settings.retention_days)

        while True:
            try:
                await self.health.retry("upkeep", upkeep)
            except Exception:
                log.exception("managing partitions failed; trying again in an hour")
            await asyncio.sleep(PARTITION_MAINTENANCE_SECONDS)

    async def _serve_health(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        try:
            async with asyncio.timeout(5):
                request_line = (await reader.readline()).decode("latin-1").split()
                accept = ""  # the Accept header: /metrics in the format it asks for
                while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
                    name, _, value = line.decode("latin-1").partition(":")
                    if name.strip().lower() == "accept":
                        accept = value.strip()
                status, content_type, payload = await self._health_response(request_line, accept)
                writer.write(
                    f"HTTP/1.1 {status} {_REASONS[status]}\r\nContent-Type: {content_type}\r\n"
                    f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n".encode()
                    + payload
                )
                await writer.drain()
        except (TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()

    async def _health_response(
        self, request_line: list[str], accept: str = ""
    ) -> tuple[int, str, bytes]:
        if len(request_line) < 2 or request_line[0] != "GET":
            return _json(405, {"status": "method not allowed"})
        path = request_line[1].split("?")[0]
        if path == "/healthz":
            return _json(200, {"status": "ok"})
        if path == "/readyz":
            pool = self.pool
            if pool is None:
                return _json(503, {"status": "unavailable", "reason": "connecting to database"})
            # Reading the schema's revision shows the database answers; the worker's own
            # statements show whether it can do its work (record results, above all).
            problem = self.health.problem() or await readiness_problem(
                lambda: current_revision(pool)
            )
            if problem is not None:
                return _json(503, {"status": "unavailable", "reason": problem})
            return _json(200, {"status": "ready"})
        if path == "/metrics":
            body, content_type = self.metrics.render(accept)
            return 200, content_type, body
        return _json(404, {"status": "not found"})


def _json(status: int, body: dict[str, str]) -> tuple[int, str, bytes]:
    return status, "application/json", json.dumps(body).encode()
