"""The worker process: starts, connects, serves health and metrics, stops cleanly."""

from __future__ import annotations

import asyncio
import signal

import httpx
import pytest

from tests.support.net import wait_for_http
from tests.support.processes import StartWorker
from tests.support.wait import poll_until


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
async def test_worker_serves_health_and_stops_on_signal(
    database_url: str, start_worker: StartWorker, signum: int
) -> None:
    worker = start_worker(database_url, "w1")
    await worker.ready()
    async with httpx.AsyncClient(base_url=worker.health) as client:
        assert (await client.get("/healthz")).json() == {"status": "ok"}
        assert (await client.get("/readyz")).json() == {"status": "ready"}
        metrics = await client.get("/metrics")
    assert metrics.status_code == 200
    assert "# TYPE uptime_worker_checks_total counter" in metrics.text
    assert "uptime_worker_database_up 1" in metrics.text
    assert await worker.stop(signum) == 0
    assert "connected to the database" in worker.output
    assert "stopped" in worker.output
    assert "Traceback" not in worker.output


async def test_worker_waits_for_migrations_and_says_why(
    empty_database_url: str, start_worker: StartWorker
) -> None:
    worker = start_worker(empty_database_url, "w1")
    await asyncio.to_thread(wait_for_http, f"{worker.health}/healthz", timeout=30)

    async def reason() -> str:
        async with httpx.AsyncClient() as client:
            answer = await client.get(f"{worker.health}/readyz")
        assert answer.status_code == 503
        return str(answer.json()["reason"])

    # First "connecting to database", then, connected, the schema's state.
    assert "uptime migrate" in await poll_until(reason, lambda r: "migrate" in r, within=30)
    assert worker.process.poll() is None, "the worker must wait, not crash"
    assert await worker.stop() == 0
    assert "waiting before checking anything" in worker.output
