"""Claim, record, release and the state machine, statement by statement, on a real database."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import asyncpg

from tests.support.targets import TargetSpec, insert_targets
from uptime_core.enums import CheckStatus, ErrorKind
from uptime_core.probes import ProbeResult
from uptime_core.runtime.db import create_pool, libpq_url
from uptime_core.runtime.settings import Settings
from uptime_core.scheduling.claim import ClaimedSlot, claim_due_targets, release_leases
from uptime_core.scheduling.record import CheckOutcome, record_results
from uptime_core.stats.rollups import rebuild_rollups
from uptime_core.targets import update_target

UP = ProbeResult(CheckStatus.UP, latency_ms=1.5)
DOWN = ProbeResult(CheckStatus.DOWN, error_kind=ErrorKind.REFUSED, message="connection refused")


async def new_target(db: asyncpg.Connection, **overrides: object) -> int:
    spec = TargetSpec(kind="tcp", host="127.0.0.1", port=9, **overrides)  # type: ignore[arg-type]
    [target_id] = await insert_targets(db, [spec])
    return target_id


async def due_at(db: asyncpg.Connection, target_id: int, slot: datetime) -> None:
    await db.execute("UPDATE target SET next_run_at = $2 WHERE id = $1", target_id, slot)


async def claim(db: asyncpg.Connection, worker: str, limit: int = 10) -> list[ClaimedSlot]:
    return await claim_due_targets(db, worker, limit, lease_margin_seconds=1.0)


def outcome(slot: ClaimedSlot, result: ProbeResult) -> CheckOutcome:
    return CheckOutcome(slot.id, slot.slot, slot.slot, slot.slot + timedelta(seconds=0.01), result)


async def db_now(db: asyncpg.Connection) -> datetime:
    value: datetime = await db.fetchval("SELECT now()")
    return value


async def test_a_claim_leases_due_targets_once(db: asyncpg.Connection) -> None:
    target_id = await new_target(db)
    await due_at(db, target_id, await db_now(db) - timedelta(seconds=1))
    [slot] = await claim(db, "a")
    assert slot.id == target_id
    assert await claim(db, "b") == [], "a leased slot is not claimed again"
    owner = await db.fetchval("SELECT lease_owner FROM target WHERE id = $1", target_id)
    assert owner == "a"


async def test_concurrent_claims_never_share_a_slot(
    database_url: str, db: asyncpg.Connection
) -> None:
    ids = await insert_targets(db, [TargetSpec(kind="tcp", host="127.0.0.1", port=9)] * 100)
    await db.execute("UPDATE target SET next_run_at = now() - interval '1 second'")
    connections = [await asyncpg.connect(libpq_url(database_url)) for _ in range(3)]
    try:
        batches = await asyncio.gather(
            *(claim(c, f"w{i}", limit=40) for i, c in enumerate(connections))
        )
    finally:
        for connection in connections:
            await connection.close()
    claimed = [slot.id for batch in batches for slot in batch]
    assert len(claimed) == len(set(claimed)) == 100
    assert set(claimed) == set(ids)


async def test_recording_advances_the_slot_by_one_interval(db: asyncpg.Connection) -> None:
    target_id = await new_target(db, interval_seconds=30)
    slot_time = await db_now(db) - timedelta(seconds=2)
    await due_at(db, target_id, slot_time)
    [slot] = await claim(db, "a")
    done = await record_results(db, "a", [outcome(slot, UP)])
    assert done.recorded == 1
    row = await db.fetchrow(
        "SELECT next_run_at, lease_owner, status FROM target WHERE id = $1", target_id
    )
    assert row["next_run_at"] == slot_time + timedelta(seconds=30)
    assert row["lease_owner"] is None
    assert row["status"] == "up"
    result = await db.fetchrow("SELECT * FROM check_result WHERE target_id = $1", target_id)
    assert result["scheduled_for"] == slot_time
    assert result["recorded_by"] == "a"
    assert result["latency_ms"] == 1.5


async def test_after_an_outage_the_schedule_jumps_to_the_present(db: asyncpg.Connection) -> None:
    target_id = await new_target(db, interval_seconds=10)
    slot_time = await db_now(db) - timedelta(seconds=95)
    await due_at(db, target_id, slot_time)
    [slot] = await claim(db, "a")
    assert slot.slot == slot_time, "the overdue slot itself is run, late"
    await record_results(db, "a", [outcome(slot, UP)])
    next_run_at, now = await db.fetchrow(
        "SELECT next_run_at, now() FROM target WHERE id = $1", target_id
    )
    # On the same grid, the latest slot not after now: 9 slots on, the 8 between are no data.
    assert next_run_at == slot_time + timedelta(seconds=90)
    assert now - timedelta(seconds=10) < next_run_at <= now


async def test_an_expired_lease_cannot_record(db: asyncpg.Connection) -> None:
    target_id = await new_target(db)
    await due_at(db, target_id, await db_now(db) - timedelta(seconds=1))
    [slot] = await claim(db, "zombie")
    await db.execute("UPDATE target SET lease_expires_at = now() - interval '1 millisecond'")
    done = await record_results(db, "zombie", [outcome(slot, DOWN)])
    assert done.recorded == 0
    assert await db.fetchval("SELECT count(*) FROM check_result") == 0
    assert await db.fetchval("SELECT next_run_at FROM target") == slot.slot, "slot still due"


async def test_a_zombie_is_fenced_out_after_another_worker_takes_over(
    db: asyncpg.Connection,
) -> None:
    target_id = await new_target(db)
    await due_at(db, target_id, await db_now(db) - timedelta(seconds=1))
    [held] = await claim(db, "zombie")
    await db.execute("UPDATE target SET lease_expires_at = now() - interval '1 millisecond'")
    [taken] = await claim(db, "rescuer")
    assert (taken.id, taken.slot) == (held.id, held.slot)

    assert (await record_results(db, "zombie", [outcome(held, DOWN)])).recorded == 0
    assert (await record_results(db, "rescuer", [outcome(taken, UP)])).recorded == 1
    # However late the zombie tries again, the slot is recorded once, by the rescuer.
    assert (await record_results(db, "zombie", [outcome(held, DOWN)])).recorded == 0
    rows = await db.fetch("SELECT recorded_by, status FROM check_result")
    assert [(r["recorded_by"], r["status"]) for r in rows] == [("rescuer", "up")]


async def test_released_leases_are_claimable_at_once(db: asyncpg.Connection) -> None:
    ids = await insert_targets(db, [TargetSpec(kind="tcp", host="127.0.0.1", port=9)] * 3)
    await db.execute("UPDATE target SET next_run_at = now() - interval '1 second'")
    claimed = await claim(db, "stopping")
    assert await release_leases(db, "stopping", [s.id for s in claimed]) == 3
    assert await release_leases(db, "someone-else", ids) == 0
    again = await claim(db, "other")
    assert sorted(s.id for s in again) == sorted(ids)
    assert [s.slot for s in sorted(again, key=lambda s: s.id)] == [
        s.slot for s in sorted(claimed, key=lambda s: s.id)
    ]


async def run_checks(
    db: asyncpg.Connection, target_id: int, results: list[ProbeResult]
) -> list[tuple[datetime, str]]:
    """Record ``results`` as consecutive slots one second apart; (slot, status after) each."""
    start = await db_now(db) - timedelta(seconds=len(results) + 5)
    history = []
    for n, result in enumerate(results):
        await due_at(db, target_id, start + timedelta(seconds=n))
        [slot] = await claim(db, "w")
        assert (await record_results(db, "w", [outcome(slot, result)])).recorded == 1
        status = await db.fetchval("SELECT status FROM target WHERE id = $1", target_id)
        history.append((slot.slot, status))
    return history


async def test_alternating_results_never_open_an_incident(db: asyncpg.Connection) -> None:
    target_id = await new_target(db, failure_threshold=2, recovery_threshold=2)
    history = await run_checks(db, target_id, [UP, DOWN] * 5)
    assert [status for _, status in history] == ["up", "pending"] * 5
    assert await db.fetchval("SELECT count(*) FROM incident") == 0


async def test_three_failures_open_one_incident_back_dated_to_the_first(
    db: asyncpg.Connection,
) -> None:
    target_id = await new_target(db, failure_threshold=2, recovery_threshold=2)
    history = await run_checks(db, target_id, [UP, DOWN, DOWN, DOWN, UP, UP, UP])
    assert [status for _, status in history] == [
        "up",
        "pending",
        "down",
        "down",
        "down",
        "up",
        "up",
    ]
    incidents = await db.fetch("SELECT started_at, resolved_at, cause FROM incident")
    assert len(incidents) == 1
    [incident] = incidents
    assert incident["started_at"] == history[1][0], "starts at the first failing check"
    assert incident["resolved_at"] == history[4][0], "ends at the first passing check"
    assert incident["cause"] == "refused: connection refused"


async def test_a_failure_during_recovery_keeps_the_incident_open(db: asyncpg.Connection) -> None:
    target_id = await new_target(db, failure_threshold=1, recovery_threshold=3)
    history = await run_checks(db, target_id, [DOWN, UP, UP, DOWN, UP, UP, UP])
    assert [status for _, status in history] == [
        "down",
        "down",
        "down",
        "down",
        "down",
        "down",
        "up",
    ]
    [incident] = await db.fetch("SELECT started_at, resolved_at FROM incident")
    assert incident["started_at"] == history[0][0]
    assert incident["resolved_at"] == history[4][0]


async def test_degraded_counts_as_passing(db: asyncpg.Connection) -> None:
    slow = ProbeResult(CheckStatus.DEGRADED, latency_ms=900, error_kind=ErrorKind.SLOW)
    target_id = await new_target(db)
    history = await run_checks(db, target_id, [slow, DOWN, slow])
    assert [status for _, status in history] == ["degraded", "pending", "degraded"]
    assert await db.fetchval("SELECT count(*) FROM incident") == 0


async def test_recording_adds_to_the_rollups_only_what_it_recorded(db: asyncpg.Connection) -> None:
    target_id = await new_target(db)
    await run_checks(db, target_id, [UP, DOWN, UP, UP])
    # A fenced-out result must not reach the rollups either.
    await due_at(db, target_id, await db_now(db) - timedelta(seconds=1))
    [held] = await claim(db, "zombie")
    await db.execute("UPDATE target SET lease_expires_at = now() - interval '1 millisecond'")
    assert (await record_results(db, "zombie", [outcome(held, DOWN)])).recorded == 0

    rollup = await db.fetchrow(
        "SELECT sum(up) AS up, sum(down) AS down, sum(latency_count) AS measured "
        "FROM check_rollup_hourly WHERE target_id = $1",
        target_id,
    )
    assert (rollup["up"], rollup["down"], rollup["measured"]) == (3, 1, 3)
    since = await db.fetchval("SELECT date_trunc('day', now() - interval '1 day', 'UTC')")
    reports = await rebuild_rollups(db, since)
    assert [r.differed for r in reports] == [0, 0], "incremental rollups equal a recomputation"


async def test_a_mixed_batch_records_only_the_slots_still_held(db: asyncpg.Connection) -> None:
    ids = await insert_targets(db, [TargetSpec(kind="tcp", host="127.0.0.1", port=9)] * 2)
    await db.execute("UPDATE target SET next_run_at = now() - interval '1 second'")
    first, second = sorted(await claim(db, "w"), key=lambda s: s.id)
    await db.execute(
        "UPDATE target SET lease_expires_at = now() - interval '1 millisecond' WHERE id = $1",
        first.id,
    )
    # The held slot appears twice in the batch (a retry, say): it is recorded once.
    done = await record_results(
        db, "w", [outcome(first, DOWN), outcome(second, UP), outcome(second, UP)]
    )
    assert done.recorded == 1
    rows = await db.fetch("SELECT target_id FROM check_result")
    assert [r["target_id"] for r in rows] == [second.id]
    states = dict(await db.fetch("SELECT id, status FROM target"))
    assert states == {ids[0]: "unknown", ids[1]: "up"}, "the fenced target's state is untouched"


async def test_a_stale_slot_from_the_same_worker_is_fenced(db: asyncpg.Connection) -> None:
    target_id = await new_target(db)
    await due_at(db, target_id, await db_now(db) - timedelta(seconds=1))
    [slot] = await claim(db, "w")
    assert (await record_results(db, "w", [outcome(slot, UP)])).recorded == 1
    await due_at(db, target_id, await db_now(db) - timedelta(milliseconds=1))
    [later] = await claim(db, "w")
    # The old slot's outcome arrives again while the same worker holds the next slot.
    assert (await record_results(db, "w", [outcome(slot, DOWN)])).recorded == 0
    assert (await record_results(db, "w", [outcome(later, UP)])).recorded == 1
    assert await db.fetchval("SELECT count(*) FROM check_result") == 2


async def test_a_check_with_settings_changed_under_it_is_fenced_even_for_the_same_worker(
    database_url: str, db: asyncpg.Connection
) -> None:
    """A change of what a target probes moves its slot: the check in flight with the old
    settings is fenced out, even when the worker that ran it claims the new slot (it polls
    every half second, so with one worker it always does)."""
    target_id = await new_target(db, interval_seconds=60, timeout_seconds=5)
    await due_at(db, target_id, await db_now(db) - timedelta(seconds=1))
    [old] = await claim(db, "w")
    pool = await create_pool(database_url, Settings(database_url=database_url))
    try:
        async with pool.acquire() as connection:  # JSONB as the API reads it
            assert await update_target(connection, target_id, {"port": 10}) is not None
    finally:
        await pool.close()
    # The new slot falls within a second (claim.FIRST_SLOT): claimed ahead, as the worker does.
    [new] = await claim_due_targets(db, "w", 10, lease_margin_seconds=1.0, ahead_seconds=2.0)
    assert (new.port, old.port) == (10, 9)
    assert new.slot != old.slot
    assert (await record_results(db, "w", [outcome(old, UP)])).recorded == 0
    assert (await record_results(db, "w", [outcome(new, DOWN)])).recorded == 1
    recorded = await db.fetch("SELECT scheduled_for, status FROM check_result")
    assert [(r["scheduled_for"], r["status"]) for r in recorded] == [(new.slot, "down")]
