"""Helpers the alerting tests share: channels, checks run through the record statement,
delivery states."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from tests.support.targets import TargetSpec, insert_targets
from uptime_core.alerting.channels import ChannelFields, create_channel
from uptime_core.enums import ChannelKind, CheckStatus, ErrorKind
from uptime_core.probes import ProbeResult
from uptime_core.scheduling.claim import claim_due_targets
from uptime_core.scheduling.record import CheckOutcome, record_results

UP = ProbeResult(CheckStatus.UP, latency_ms=1.5)
DOWN = ProbeResult(CheckStatus.DOWN, error_kind=ErrorKind.REFUSED, message="connection refused")


async def new_target(db: asyncpg.Connection, name: str = "billing api") -> int:
    spec = TargetSpec(kind="tcp", host="127.0.0.1", port=9, name=name, interval_seconds=60)
    [target_id] = await insert_targets(db, [spec])
    await db.execute("UPDATE target SET next_run_at = NULL WHERE id = $1", target_id)
    return target_id


async def check(
    db: asyncpg.Connection, target_id: int, result: ProbeResult, slot: datetime, worker: str = "w"
) -> int:
    """Run one slot of one target through claim and record; how many results were recorded."""
    await db.execute("UPDATE target SET next_run_at = $2 WHERE id = $1", target_id, slot)
    [claimed] = await claim_due_targets(db, worker, 10, lease_margin_seconds=5.0)
    outcome = CheckOutcome(target_id, claimed.slot, slot, slot + timedelta(seconds=0.01), result)
    done = await record_results(db, worker, [outcome])
    return done.recorded


async def add_channel(
    pool: asyncpg.Pool, name: str, kind: ChannelKind, config: dict[str, Any], **fields: Any
) -> int:
    channel = ChannelFields(
        name=name,
        kind=kind,
        config=config,
        all_targets=fields.get("all_targets", True),
        enabled=True,
        reminder_interval_seconds=None,
        target_ids=fields.get("target_ids", []),
    )
    return (await create_channel(pool, channel)).id


async def states(db: asyncpg.Connection) -> Counter[str]:
    rows = await db.fetch("SELECT state FROM delivery")
    return Counter(row["state"] for row in rows)
