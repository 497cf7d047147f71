"""Targets and check history for tests, written straight into the database."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import asyncpg

from uptime_core.retention import create_partition_sql
from uptime_core.scheduling.claim import FIRST_SLOT
from uptime_core.stats.rollups import rollup_ctes


@dataclass
class TargetSpec:
    """One row of ``target``; defaults suit a fast local test."""

    kind: str
    url: str | None = None
    host: str | None = None
    port: int | None = None
    name: str = "test target"
    interval_seconds: int = 1
    timeout_seconds: float = 2.0
    options: dict[str, Any] = field(default_factory=dict)
    failure_threshold: int = 2
    recovery_threshold: int = 2


async def insert_targets(connection: asyncpg.Connection, specs: list[TargetSpec]) -> list[int]:
    """Insert targets scheduled as the API schedules them (first slot spread within the
    interval); their ids in order."""
    rows = await connection.fetch(
        f"""
        INSERT INTO target (name, kind, url, host, port, interval_seconds, timeout_seconds,
                            options, failure_threshold, recovery_threshold, next_run_at)
        SELECT name, kind, url, host, port, interval_seconds, timeout_seconds, options::jsonb,
               failure_threshold, recovery_threshold, {FIRST_SLOT}
        FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int[], $6::int[],
                    $7::float8[], $8::text[], $9::int[], $10::int[])
             WITH ORDINALITY
             AS i(name, kind, url, host, port, interval_seconds, timeout_seconds, options,
                  failure_threshold, recovery_threshold, n)
        ORDER BY n
        RETURNING id
        """,
        [s.name for s in specs],
        [s.kind for s in specs],
        [s.url for s in specs],
        [s.host for s in specs],
        [s.port for s in specs],
        [s.interval_seconds for s in specs],
        [s.timeout_seconds for s in specs],
        [json.dumps(s.options) for s in specs],
        [s.failure_threshold for s in specs],
        [s.recovery_threshold for s in specs],
    )
    return [row["id"] for row in rows]


async def record_history(
    connection: asyncpg.Connection,
    target_id: int,
    checks: list[tuple[datetime, str, float | None]],
) -> int:
    """Record (slot, status, latency_ms) checks as the worker does: raw rows and both rollups
    in one statement (creating any day partition they need). How many were recorded."""
    days = {slot.astimezone(UTC).date() for slot, _, _ in checks}
    for day in days:
        await connection.execute(create_partition_sql(day))
    recorded: int = await connection.fetchval(
        f"""
        WITH recorded AS (
            INSERT INTO check_result (target_id, scheduled_for, started_at, finished_at,
                                      status, latency_ms)
            SELECT $1, slot, slot, slot, status, latency
            FROM unnest($2::timestamptz[], $3::text[], $4::float8[]) AS c(slot, status, latency)
            ON CONFLICT DO NOTHING
            RETURNING target_id, scheduled_for, status, latency_ms
        ),
        {rollup_ctes("recorded", maintenance=False)}
        SELECT count(*) FROM recorded
        """,
        target_id,
        [slot for slot, _, _ in checks],
        [status for _, status, _ in checks],
        [latency for _, _, latency in checks],
    )
    return recorded
