"""Claim: lease due slots to a worker, and give back the ones it will not run.

Each statement is one autocommit statement timed by the database clock (``now()``), named in
``uptime_core/sql/claim.sql``: ``claim_due_targets`` takes a batch of due, unleased targets
with ``FOR UPDATE SKIP LOCKED`` and leases them; ``release_leases`` gives back slots a
stopping worker never started. A slot whose lease expired (its worker died) is claimed again
and run late.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from uptime_core.sql import queries

# A new target's first slot: spread within its interval, so that a thousand targets created
# together do not all fire in the same second. Spelled out in targets.sql's ``create_target``
# (tests/core/test_sql_files.py checks it is the same); the test fixtures embed it.
FIRST_SLOT = "now() + random() * make_interval(secs => interval_seconds)"


@dataclass(frozen=True, slots=True)
class ClaimedSlot:
    """One slot of one target, leased to this worker. Satisfies ``probes.ProbeTarget``."""

    id: int
    kind: str
    url: str | None
    host: str | None
    port: int | None
    timeout_seconds: float
    options: dict[str, Any]
    slot: datetime
    claimed_at: datetime
    lease_expires_at: datetime


async def claim_due_targets(
    connection: asyncpg.Connection | asyncpg.Pool,
    worker_id: str,
    limit: int,
    lease_margin_seconds: float,
) -> list[ClaimedSlot]:
    """Lease up to ``limit`` due slots to ``worker_id``, oldest first."""
    rows = await connection.fetch(
        queries["claim_due_targets"], worker_id, limit, lease_margin_seconds
    )
    return [
        ClaimedSlot(
            id=row["id"],
            kind=row["kind"],
            url=row["url"],
            host=row["host"],
            port=row["port"],
            timeout_seconds=row["timeout_seconds"],
            options=row["options"],
            slot=row["slot"],
            claimed_at=row["claimed_at"],
            lease_expires_at=row["lease_expires_at"],
        )
        for row in rows
    ]


async def release_leases(
    connection: asyncpg.Connection | asyncpg.Pool, worker_id: str, target_ids: list[int]
) -> int:
    """Give back leases this worker holds but will not use; how many were released."""
    status = await connection.execute(queries["release_leases"], worker_id, target_ids)
    return int(status.split()[-1])


async def seconds_until_next_due(connection: asyncpg.Connection | asyncpg.Pool) -> float | None:
    """How long until an unleased slot falls due (negative: overdue; None: nothing scheduled)."""
    value: float | None = await connection.fetchval(queries["seconds_until_next_due"])
    return value
