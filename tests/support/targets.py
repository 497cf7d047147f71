"""Targets and check history for tests, written straight into the database."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from uptime_core.scheduling import FIRST_SLOT


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
