"""Claiming ahead, in-process with the probe replaced: a slot is leased before its time (the
lease covering the wait), starts at its time and never before it, nothing beyond the
claim-ahead time is taken, and stopping gives back the slots still waiting for their time.
Timing is asserted generously (a busy machine must not fail these): not before the slot,
within 2 s after it."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import asyncpg
import pytest

from tests.support.targets import TargetSpec, insert_targets
from tests.support.wait import poll_until
from uptime_core.enums import CheckStatus
from uptime_core.probes import ProbeResult
from uptime_core.runtime.db import create_pool
from uptime_core.runtime.settings import Settings
from uptime_core.scheduling.claim import ClaimedSlot, claim_due_targets
from uptime_worker import loop
from uptime_worker.loop import CheckLoop, DatabaseClock

SPEC = TargetSpec(kind="tcp", host="127.0.0.1", port=9, interval_seconds=60, timeout_seconds=2)


async def test_a_claim_takes_slots_within_the_claim_ahead_time_leased_past_their_slot(
    db: asyncpg.Connection,
) -> None:
    soon, far, later = await insert_targets(db, [SPEC] * 3)
    for target, seconds in ((soon, 0.5), (far, 4), (later, 30)):
        await db.execute(
            "UPDATE target SET next_run_at = now() + make_interval(secs => $2) WHERE id = $1",
            target,
            seconds,
        )

    assert await claim_due_targets(db, "w", 10, lease_margin_seconds=5.0) == []
    claimed = await claim_due_targets(db, "w", 10, lease_margin_seconds=5.0, ahead_seconds=5.0)
    assert [slot.id for slot in claimed] == [soon, far]
    assert all(slot.claimed_at < slot.slot for slot in claimed)
    by_id = {slot.id: slot for slot in claimed}
    # Twice the timeout and the margin from now, as without claiming ahead ...
    assert by_id[soon].lease_expires_at - by_id[soon].claimed_at == timedelta(seconds=2 * 2 + 5)
    # ... and at least one timeout and the margin past a slot further ahead than that.
    assert by_id[far].lease_expires_at - by_id[far].slot == timedelta(seconds=2 + 5)
    assert await claim_due_targets(db, "x", 10, 5.0, ahead_seconds=5.0) == [], "leased"


def test_the_clock_keeps_its_least_delayed_reading() -> None:
    clock = DatabaseClock()
    base = datetime.fromisoformat("2026-01-01T00:00:00+00:00")
    clock.sync(base, sent_at=100.0)
    # Read 50 ms late (a busy server): the clock stays where the better reading put it.
    clock.sync(base + timedelta(seconds=1.05), sent_at=101.0)
    assert clock.at(101.0) == base + timedelta(seconds=1)
    # A reading that shows the clock ahead of the estimate is better: taken at once.
    clock.sync(base + timedelta(seconds=1.99), sent_at=102.0)
    assert clock.at(102.0) == base + timedelta(seconds=1.99)
    assert clock.monotonic(base + timedelta(seconds=2.99)) == pytest.approx(103.0)


@pytest.fixture
def probes(monkeypatch: pytest.MonkeyPatch) -> list[tuple[ClaimedSlot, datetime]]:
    """Replace the probe: each call's slot and the moment (database clock) it was made."""
    calls: list[tuple[ClaimedSlot, datetime]] = []

    async def fake_probe(target: ClaimedSlot) -> ProbeResult:
        calls.append((target, datetime.now(target.slot.tzinfo)))
        return ProbeResult(CheckStatus.UP, latency_ms=1.0)

    monkeypatch.setattr(loop, "probe", fake_probe)
    return calls


async def test_a_slot_claimed_ahead_starts_at_its_time_not_before(
    database_url: str,
    db: asyncpg.Connection,
    settings: Settings,
    probes: list[tuple[ClaimedSlot, datetime]],
) -> None:
    [target] = await insert_targets(db, [SPEC])
    # Due in 1.2 s: with the default 1 s claim-ahead time, claimed ahead at the next poll.
    slot = await db.fetchval(
        "UPDATE target SET next_run_at = now() + interval '1.2 s' WHERE id = $1 "
        "RETURNING next_run_at",
        target,
    )
    pool = await create_pool(database_url, settings)
    stopping = asyncio.Event()
    running = asyncio.create_task(CheckLoop(pool, settings, stopping).run())
    try:
        row = await poll_until(
            lambda: db.fetchrow("SELECT * FROM check_result WHERE target_id = $1", target),
            lambda found: found is not None,
            within=10,
        )
    finally:
        stopping.set()
        await asyncio.wait_for(running, 20)
        await pool.close()
    assert row is not None, "checked"
    [(claimed, _)] = probes
    assert claimed.claimed_at < claimed.slot == slot, "claimed before its time"
    assert row["scheduled_for"] == slot
    assert row["started_at"] >= slot, "never before its slot"
    assert row["started_at"] - slot < timedelta(seconds=2)


async def test_stopping_gives_back_the_slots_waiting_for_their_time(
    database_url: str,
    db: asyncpg.Connection,
    settings: Settings,
    probes: list[tuple[ClaimedSlot, datetime]],
) -> None:
    settings = settings.model_copy(update={"worker_claim_ahead_seconds": 10.0})
    waiting = await insert_targets(db, [SPEC] * 3)
    [beyond] = await insert_targets(db, [SPEC])
    await db.execute(
        "UPDATE target SET next_run_at = now() + interval '8 s' WHERE id = ANY($1)", waiting
    )
    await db.execute("UPDATE target SET next_run_at = now() + interval '1 h' WHERE id = $1", beyond)
    before = dict(await db.fetch("SELECT id, next_run_at FROM target"))
    pool = await create_pool(database_url, settings)
    stopping = asyncio.Event()
    check_loop = CheckLoop(pool, settings, stopping)
    running = asyncio.create_task(check_loop.run())
    try:

        async def leased_and_waiting() -> tuple[int, int]:
            # The leases are committed before the loop has read the claim's answer and set
            # its timers: wait for both (a busy machine widens that gap).
            leased = await db.fetchval("SELECT count(*) FROM target WHERE lease_owner IS NOT NULL")
            return leased, len(check_loop.waiting)

        leased, timers = await poll_until(
            leased_and_waiting, lambda seen: seen[1] == 3 or seen[0] > 3, within=10
        )
        assert leased == 3, "the three due within the claim-ahead time are claimed"
        assert timers == 3, "each waits on a timer for its time"
    finally:
        stopping.set()
        await asyncio.wait_for(running, 20)
        await pool.close()
    rows = await db.fetch("SELECT id, next_run_at, lease_owner, lease_expires_at FROM target")
    assert all(r["lease_owner"] is None and r["lease_expires_at"] is None for r in rows)
    assert {r["id"]: r["next_run_at"] for r in rows} == before, "slots unchanged"
    assert probes == []
    assert await db.fetchval("SELECT count(*) FROM check_result") == 0
    assert check_loop.waiting == {}
    assert check_loop.metrics.value("uptime_worker_leases_released_total") == 3
