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
    assert "uptime_worker_database_up 1.0" in metrics.text
    assert metrics.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    async with httpx.AsyncClient(base_url=worker.health) as client:
        openmetrics = await client.get(
            "/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"}
        )
    assert openmetrics.headers["content-type"].startswith("application/openmetrics-text")
    assert openmetrics.text.endswith("# EOF\n")
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


async def test_every_counter_is_exported_from_0_right_after_the_start(
    database_url: str, start_worker: StartWorker
) -> None:
    worker = start_worker(database_url, "w1")
    await worker.ready()
    async with httpx.AsyncClient(base_url=worker.health) as client:
        text = (await client.get("/metrics")).text
    samples = dict(
        line.rsplit(" ", 1) for line in text.splitlines() if line and not line.startswith("#")
    )
    counters = [
        line.split()[2]
        for line in text.splitlines()
        if line.startswith("# TYPE") and "counter" in line
    ]
    assert "uptime_worker_leases_released_total" in counters
    for name in counters:
        assert any(key.split("{")[0] == name for key in samples), f"{name} has no sample"
    for name in (
        "uptime_worker_leases_released_total",
        "uptime_worker_results_recorded_total",
        "uptime_worker_results_fenced_total",
        "uptime_worker_database_outages_total",
    ):
        assert float(samples[name]) == 0, name
    for kind in ("http", "tcp", "icmp"):
        for status in ("up", "down", "degraded"):
            key = f'uptime_worker_checks_total{{kind="{kind}",status="{status}"}}'
            assert float(samples[key]) == 0, key
    for kind in ("webhook", "slack", "email"):
        for outcome in ("sent", "retried", "failed"):
            key = f'uptime_worker_deliveries_total{{kind="{kind}",outcome="{outcome}"}}'
            assert float(samples[key]) == 0, key
    assert float(samples["uptime_worker_database_up"]) == 1
    assert float(samples["uptime_worker_database_writable"]) == 1
    assert await worker.stop() == 0


async def test_a_database_url_asyncpg_refuses_ends_the_worker_with_the_reason(
    database_url: str, start_worker: StartWorker
) -> None:
    # Not an outage (it was once retried for ever): retrying cannot make the parameter valid.
    worker = start_worker(f"{database_url}&sslmode=bogus", "w1")
    code = await asyncio.to_thread(worker.process.wait, 30)
    assert code == 1, worker.output
    assert "uptime: error: `sslmode` parameter must be one of" in worker.output
    assert "Traceback" not in worker.output
