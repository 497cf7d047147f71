"""Claim: lease due slots to a worker, and give back the ones it will not run.

Each statement is one autocommit statement timed by the database clock (``now()``).
``CLAIM_DUE_TARGETS`` takes a batch of due, unleased targets with ``FOR UPDATE SKIP LOCKED``
in a ``MATERIALIZED`` CTE (so the planner cannot re-run the locking subquery) and leases them;
``RELEASE_LEASES`` gives back slots a stopping worker never started. A slot whose lease
expired (its worker died) is claimed again and run late.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

# A lease covers the probe's timeout twice (a claimed probe may wait for a free slot of the
# semaphore for up to one timeout before it starts) plus a margin for completion.
CLAIM_DUE_TARGETS = """
WITH due AS MATERIALIZED (
    SELECT id
    FROM target
    WHERE NOT paused
      AND next_run_at <= now()
      AND (lease_expires_at IS NULL OR lease_expires_at < now())
    ORDER BY next_run_at
    LIMIT $2
    FOR UPDATE SKIP LOCKED
)
UPDATE target AS t
SET lease_owner = $1,
    lease_expires_at = now() + make_interval(secs => t.timeout_seconds * 2 + $3)
FROM due
WHERE t.id = due.id
RETURNING t.id, t.kind, t.url, t.host, t.port, t.timeout_seconds, t.options,
          t.next_run_at AS slot, now() AS claimed_at, t.lease_expires_at
"""

RELEASE_LEASES = """
UPDATE target
SET lease_owner = NULL, lease_expires_at = NULL
WHERE id = ANY($2::bigint[]) AND lease_owner = $1
"""

# Seconds until the next unleased slot falls due (NULL: nothing scheduled).
SECONDS_UNTIL_NEXT_DUE = """
SELECT extract(epoch FROM min(next_run_at) - now())::float8
FROM target
WHERE NOT paused AND (lease_expires_at IS NULL OR lease_expires_at < now())
"""

# A new target's first slot: spread within its interval, so that a thousand targets created
# together do not all fire in the same second.
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
    rows = await connection.fetch(CLAIM_DUE_TARGETS, worker_id, limit, lease_margin_seconds)
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
    status = await connection.execute(RELEASE_LEASES, worker_id, target_ids)
    return int(status.split()[-1])


async def seconds_until_next_due(connection: asyncpg.Connection | asyncpg.Pool) -> float | None:
    """How long until an unleased slot falls due (negative: overdue; None: nothing scheduled)."""
    value: float | None = await connection.fetchval(SECONDS_UNTIL_NEXT_DUE)
    return value
