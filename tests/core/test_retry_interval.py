"""The retry interval (issue 15): the checks that confirm a change come sooner, on a real database.

A target at a 60 s interval with thresholds 2 and a retry interval of 10 s: the check after a
failure comes 10 s later, so a DOWN is known 10 s after the first failing check, not 60 s; once
the change is confirmed (or its run breaks) the schedule returns to the target's grid of 60 s
slots. Each test puts its first slot a little in the past so that it is due at once; the record
statement computes the next slot from the slot and ``now()`` (uptime_core/scheduling/record.py).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import asyncpg
import pytest

from tests.core.test_scheduling import DOWN, UP, claim, db_now, due_at, new_target, outcome
from uptime_core.configuration.document import parse_document
from uptime_core.probes import ProbeResult
from uptime_core.scheduling.record import record_results
from uptime_core.stats.uptime import Range, uptime_for_targets
from uptime_core.validation import InvalidFields

SECONDS = [timedelta(seconds=n) for n in range(200)]


async def target_at(
    db: asyncpg.Connection, retry: int | None, interval: int = 60, state: str | None = None
) -> int:
    """A target with thresholds 2, not scheduled until ``due_at``; ``state`` 'down': DOWN for
    the last five minutes, its incident open."""
    target_id = await new_target(
        db, interval_seconds=interval, failure_threshold=2, recovery_threshold=2
    )
    await db.execute(
        "UPDATE target SET retry_interval_seconds = $2, next_run_at = NULL WHERE id = $1",
        target_id,
        retry,
    )
    if state == "down":
        await db.execute(
            "UPDATE target SET status = 'down', consecutive_failures = 5,"
            " streak_started_at = now() - interval '5 minutes' WHERE id = $1",
            target_id,
        )
        await db.execute(
            "INSERT INTO incident (target_id, started_at, cause)"
            " VALUES ($1, now() - interval '5 minutes', 'refused')",
            target_id,
        )
    return target_id


async def check(
    db: asyncpg.Connection, target_id: int, result: ProbeResult
) -> tuple[datetime, str, datetime]:
    """Claim the target's due slot and record ``result``: (the slot, the state after, the next
    slot)."""
    [slot] = await claim(db, "w")
    assert slot.id == target_id
    assert (await record_results(db, "w", [outcome(slot, result)])).recorded == 1
    status, next_run_at = await db.fetchrow(
        "SELECT status, next_run_at FROM target WHERE id = $1", target_id
    )
    return slot.slot, status, next_run_at


async def test_a_failure_is_confirmed_at_the_retry_interval(db: asyncpg.Connection) -> None:
    target_id = await target_at(db, retry=10)
    start = await db_now(db) - SECONDS[12]
    await due_at(db, target_id, start)
    # A failure: the check that confirms it comes 10 s later, not 60.
    assert await check(db, target_id, DOWN) == (start, "pending", start + SECONDS[10])
    # The second failure, 10 s after the first, makes it DOWN: then back on the grid.
    assert await check(db, target_id, DOWN) == (start + SECONDS[10], "down", start + SECONDS[60])
    [incident] = await db.fetch("SELECT started_at FROM incident WHERE target_id = $1", target_id)
    assert incident["started_at"] == start, "back-dated to the first failing check"


async def test_failing_while_down_keeps_the_interval(db: asyncpg.Connection) -> None:
    target_id = await target_at(db, retry=10, state="down")
    start = await db_now(db) - SECONDS[2]
    await due_at(db, target_id, start)
    assert await check(db, target_id, DOWN) == (start, "down", start + SECONDS[60])


async def test_a_recovery_is_confirmed_at_the_retry_interval(db: asyncpg.Connection) -> None:
    target_id = await target_at(db, retry=10, state="down")
    start = await db_now(db) - SECONDS[12]
    await due_at(db, target_id, start)
    assert await check(db, target_id, UP) == (start, "down", start + SECONDS[10])
    assert await check(db, target_id, UP) == (start + SECONDS[10], "up", start + SECONDS[60])
    [incident] = await db.fetch("SELECT resolved_at FROM incident WHERE target_id = $1", target_id)
    assert incident["resolved_at"] == start, "closed at the first passing check"


async def test_a_run_broken_before_it_is_confirmed_returns_to_the_grid(
    db: asyncpg.Connection,
) -> None:
    failing = await target_at(db, retry=10)
    start = await db_now(db) - SECONDS[12]
    await due_at(db, failing, start)
    assert await check(db, failing, DOWN) == (start, "pending", start + SECONDS[10])
    assert await check(db, failing, UP) == (start + SECONDS[10], "up", start + SECONDS[60])
    await due_at(db, failing, None)  # type: ignore[arg-type]

    recovering = await target_at(db, retry=10, state="down")
    await due_at(db, recovering, start)
    assert await check(db, recovering, UP) == (start, "down", start + SECONDS[10])
    assert await check(db, recovering, DOWN) == (start + SECONDS[10], "down", start + SECONDS[60])


async def test_the_default_is_the_smaller_of_the_interval_and_10_s(
    db: asyncpg.Connection,
) -> None:
    for interval, retry, expected in ((60, None, 10), (5, None, 5), (30, 25, 25), (20, 60, 20)):
        target_id = await target_at(db, retry=retry, interval=interval)
        start = await db_now(db) - SECONDS[2]
        await due_at(db, target_id, start)
        slot, status, after = await check(db, target_id, DOWN)
        assert (status, after - slot) == ("pending", SECONDS[expected]), (interval, retry)
        await due_at(db, target_id, None)  # type: ignore[arg-type]


async def test_late_checks_keep_both_grids(db: asyncpg.Connection) -> None:
    target_id = await target_at(db, retry=10)
    start = await db_now(db) - SECONDS[135]
    await due_at(db, target_id, start)
    # Recorded 135 s late: the latest retry slot not after now, due at once.
    assert await check(db, target_id, DOWN) == (start, "pending", start + SECONDS[130])
    # DOWN: the first slot after it on the 60 s grid of the first failure.
    assert await check(db, target_id, DOWN) == (start + SECONDS[130], "down", start + SECONDS[180])


async def test_confirmation_checks_count_as_checks_and_coverage_stays_at_most_1(
    db: asyncpg.Connection,
) -> None:
    target_id = await target_at(db, retry=10)
    now = await db_now(db)
    start = now - SECONDS[119]
    await db.execute(
        "UPDATE target SET created_at = $2 WHERE id = $1", target_id, now - SECONDS[120]
    )
    # Two regular slots (start, start + 60 s), each with its confirmation check 10 s later.
    for offset, result in ((0, DOWN), (10, DOWN), (60, UP), (70, UP)):
        await due_at(db, target_id, start + SECONDS[offset])
        await check(db, target_id, result)
    assert await db.fetchval("SELECT status FROM target WHERE id = $1", target_id) == "up"
    [answer] = (await uptime_for_targets(db, [target_id], [Range(now - SECONDS[120], now)]))[
        target_id
    ]
    # Two slots expected in the window, four checks recorded: coverage 1, not 2.
    assert (answer.checks, answer.failures, answer.ratio) == (4, 2, 0.5)
    assert answer.coverage == 1.0


def test_a_document_sets_the_retry_interval() -> None:
    target = {"key": "api", "kind": "http", "url": "https://api.example/", "intervalSeconds": 60}
    document = parse_document(
        {"targets": [target, {**target, "key": "fast", "retryIntervalSeconds": 15}]}, {}
    )
    assert [t.fields.retry_interval_seconds for t in document.targets] == [None, 15]
    snake = parse_document({"targets": [{**target, "retry_interval_seconds": 5}]}, {})
    assert snake.targets[0].fields.retry_interval_seconds == 5
    with pytest.raises(InvalidFields) as raised:
        parse_document({"targets": [{**target, "retryIntervalSeconds": 61}]}, {})
    [problem] = raised.value.errors
    assert problem.field == "targets[0].retryIntervalSeconds"
    assert "from 1 to the interval (60)" in problem.message
