"""Claim: lease due slots to a worker, and give back the ones it will not run.

Each statement is one autocommit statement timed by the database clock (``now()``), named in
``uptime_core/sql/claim.sql``: ``claim_due_targets`` takes a batch of unleased targets due now
or within a claim-ahead time with ``FOR UPDATE SKIP LOCKED`` and leases them past their slot;
``release_leases`` gives back slots a stopping worker never started. A slot whose lease
expired (its worker died) is claimed again and run late.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from uptime_core.sql import queries

# A new target's first slot (and the next slot of a target whose probe settings or interval
# changed): within FIRST_CHECK_SECONDS, so that it is checked at once; but the n-th target one
# transaction schedules this way (an import of thousands) falls at random within n /
# FIRST_SLOTS_PER_SECOND seconds, capped at its interval, so that targets created together do
# not fire together for ever (later slots keep the first one's phase). The count is a setting
# local to the transaction (uptime.first_slots). Spelled out in targets.sql's
# ``create_target`` and ``update_target`` (tests/core/test_sql_files.py checks
# create_target); the test fixtures embed it.
FIRST_CHECK_SECONDS = 1
FIRST_SLOTS_PER_SECOND = 100
# Spelled over three lines, as targets.sql has it.
FIRST_SLOT = (
    "now() + random() * make_interval(secs => least(interval_seconds, greatest(\n"
    f"           {FIRST_CHECK_SECONDS}, set_config('uptime.first_slots', (coalesce(nullif(\n"
    "               current_setting('uptime.first_slots', true), '')::int, 0) + 1)::text, true)"
    f"::int\n           / {FIRST_SLOTS_PER_SECOND}.0)))"
)


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
    # The soonest the slot after this one can come: the retry interval in force (never longer
    # than the interval). The worker records a check well before then.
    next_slot_within: float


async def claim_due_targets(
    connection: asyncpg.Connection | asyncpg.Pool,
    worker_id: str,
    limit: int,
    lease_margin_seconds: float,
    ahead_seconds: float = 0.0,
) -> list[ClaimedSlot]:
    """Lease up to ``limit`` slots due within ``ahead_seconds`` to ``worker_id``, oldest
    first; a lease covers twice the timeout and the margin from now, and at least one
    timeout and the margin from the slot."""
    rows = await connection.fetch(
        queries["claim_due_targets"], worker_id, limit, lease_margin_seconds, ahead_seconds
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
            next_slot_within=row["next_slot_within"],
        )
        for row in rows
    ]


async def release_leases(
    connection: asyncpg.Connection | asyncpg.Pool, worker_id: str, target_ids: list[int]
) -> int:
    """Give back leases this worker holds but will not use; how many were released."""
    status = await connection.execute(queries["release_leases"], worker_id, target_ids)
    return int(status.split()[-1])
