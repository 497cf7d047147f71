"""The check loop in-process, with its probe replaced: a batch that cannot be recorded for a
reason of its own (a bad row, a bug in the statement) is logged and dropped; it is no outage,
so the worker keeps claiming and recording other targets. Outages: test_database_outage.py."""

from __future__ import annotations

import asyncio
import logging

import asyncpg
import pytest

from tests.support.targets import TargetSpec, insert_targets
from tests.support.wait import poll_until
from uptime_core.enums import CheckStatus
from uptime_core.probes import ProbeResult
from uptime_core.runtime.db import create_pool
from uptime_core.runtime.settings import Settings
from uptime_core.scheduling.claim import ClaimedSlot
from uptime_core.scheduling.record import CheckOutcome, Recorded, record_results
from uptime_worker import loop
from uptime_worker.loop import CheckLoop

RECORDING_FAILED = "recording 1 results failed"


@pytest.mark.parametrize("fault", ["bad row", "bug in the statement"])
async def test_a_batch_that_cannot_be_recorded_does_not_stop_the_worker(
    fault: str,
    database_url: str,
    db: asyncpg.Connection,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="uptime.worker")
    spec = TargetSpec(kind="tcp", host="127.0.0.1", port=9, interval_seconds=60)
    [bad] = await insert_targets(db, [spec])
    await db.execute("UPDATE target SET next_run_at = now()")

    async def fake_probe(target: ClaimedSlot) -> ProbeResult:
        # An HTTP status that fits no int column: asyncpg refuses to encode the batch.
        status = 2**31 if fault == "bad row" and target.id == bad else 200
        return ProbeResult(CheckStatus.UP, latency_ms=1.0, http_status=status)

    async def record(pool: asyncpg.Pool, worker_id: str, batch: list[CheckOutcome]) -> Recorded:
        if fault == "bug in the statement" and any(o.target_id == bad for o in batch):
            # asyncpg's InterfaceError for a statement given the wrong number of arguments.
            await pool.fetchval("SELECT $1::int4", 1, 2)
        return await record_results(pool, worker_id, batch)

    monkeypatch.setattr(loop, "probe", fake_probe)
    monkeypatch.setattr(loop, "record_results", record)
    pool = await create_pool(database_url, settings)
    stopping = asyncio.Event()
    check_loop = CheckLoop(pool, settings, stopping)
    running = asyncio.create_task(check_loop.run())
    try:
        failed = await poll_until(
            lambda: asyncio.sleep(0, RECORDING_FAILED in caplog.text), bool, within=10
        )
        assert failed, f"the failure was never logged: {caplog.text}"
        assert check_loop.health.writable.is_set(), "no outage: results can still be written"
        assert check_loop.health.problem() is None

        [good] = await insert_targets(db, [spec])
        await db.execute("UPDATE target SET next_run_at = now() WHERE id = $1", good)
        recorded = await poll_until(
            lambda: db.fetchval("SELECT count(*) FROM check_result WHERE target_id = $1", good),
            lambda count: count == 1,
            within=10,
        )
        assert recorded == 1, "the worker went on claiming and recording"
    finally:
        stopping.set()
        await asyncio.wait_for(running, 20)
        await pool.close()
    assert "database unavailable" not in caplog.text
    assert await db.fetchval("SELECT count(*) FROM check_result WHERE target_id = $1", bad) == 0
