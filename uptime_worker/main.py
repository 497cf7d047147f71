"""The worker process: lifecycle, signals, and its health endpoints.

The claim → probe → complete loop arrives with the scheduling issue; this process already
starts, waits for its database, serves ``/healthz`` and ``/readyz`` on its own port, and stops
cleanly on SIGTERM or SIGINT.
"""

from __future__ import annotations

import asyncio
import json
import logging
import signal

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, wait_exponential_jitter

from uptime_core.db import create_engine, describe_host
from uptime_core.health import readiness_problem
from uptime_core.settings import Settings

log = logging.getLogger("uptime.worker")

_REASONS = {200: "OK", 404: "Not Found", 405: "Method Not Allowed", 503: "Service Unavailable"}


def run_worker(settings: Settings, database_url: str) -> int:
    """Run until SIGTERM or SIGINT; the exit code."""
    return asyncio.run(Worker(settings, database_url).run())


def _is_connection_error(error: BaseException) -> bool:
    return isinstance(error, OSError | TimeoutError) or "connection" in type(error).__name__.lower()


class Worker:
    """One worker process."""

    def __init__(self, settings: Settings, database_url: str) -> None:
        self.settings = settings
        self.database_url = database_url
        self.stopping = asyncio.Event()
        self.engine: AsyncEngine | None = None

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self.stopping.set)
        self.engine = create_engine(self.database_url, self.settings)
        health = await asyncio.start_server(
            self._serve_health, self.settings.worker_health_host, self.settings.worker_health_port
        )
        log.info(
            "worker %s started; health on http://%s:%d",
            self.settings.worker_id,
            self.settings.worker_health_host,
            self.settings.worker_health_port,
        )
        try:
            connect = asyncio.create_task(self._wait_for_database(self.engine))
            stop = asyncio.create_task(self.stopping.wait())
            await asyncio.wait({connect, stop}, return_when=asyncio.FIRST_COMPLETED)
            connect.cancel()
            await self.stopping.wait()
            log.info("worker %s stopping", self.settings.worker_id)
        finally:
            health.close()
            await health.wait_closed()
            await self.engine.dispose()
        log.info("worker %s stopped", self.settings.worker_id)
        return 0

    async def _wait_for_database(self, engine: AsyncEngine) -> None:
        """Connect, retrying with backoff; one log line per outage, not one per attempt."""
        where = describe_host(self.database_url)

        def first_failure(state: RetryCallState) -> None:
            if state.attempt_number == 1 and state.outcome is not None:
                log.warning(
                    "database at %s unreachable (%s); retrying", where, state.outcome.exception()
                )

        async for attempt in AsyncRetrying(
            retry=retry_if_exception(_is_connection_error),
            wait=wait_exponential_jitter(initial=0.5, max=10),
            before_sleep=first_failure,
            reraise=True,
        ):
            with attempt:
                async with engine.connect() as connection:
                    await connection.execute(text("SELECT 1"))
        log.info("worker %s connected to the database at %s", self.settings.worker_id, where)

    async def _serve_health(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        try:
            async with asyncio.timeout(5):
                request_line = (await reader.readline()).decode("latin-1").split()
                while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                    pass
                status, body = await self._health_response(request_line)
                payload = json.dumps(body).encode()
                writer.write(
                    f"HTTP/1.1 {status} {_REASONS[status]}\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n".encode()
                    + payload
                )
                await writer.drain()
        except (TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()

    async def _health_response(self, request_line: list[str]) -> tuple[int, dict[str, str]]:
        if len(request_line) < 2 or request_line[0] != "GET":
            return 405, {"status": "method not allowed"}
        path = request_line[1].split("?")[0]
        if path == "/healthz":
            return 200, {"status": "ok"}
        if path == "/readyz":
            assert self.engine is not None
            problem = await readiness_problem(self.engine)
            if problem is not None:
                return 503, {"status": "unavailable", "reason": problem}
            return 200, {"status": "ready"}
        return 404, {"status": "not found"}
