"""Daily partitions of ``check_result``: created ahead of time, dropped whole when expired.

A partition holds one UTC day of slots and is named ``check_result_pYYYYMMDD``. Workers call
``manage_partitions`` at start and every hour (one at a time, through an advisory lock);
``uptime migrate`` calls it too. Dropping a partition removes raw results only: the hourly and
daily rollups keep the statistics of those days. The static statements are named in
``uptime_core/sql/retention.sql``; the DDL names its partition, so it is composed here.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import date, timedelta

import asyncpg

from uptime_core.sql import queries

log = logging.getLogger(__name__)

PARTITION_PREFIX = "check_result_p"
PARTITION_NAME = re.compile(rf"^{PARTITION_PREFIX}(\d{{8}})$")
DAYS_AHEAD = 7
# pg_try_advisory_lock key while managing partitions ("parts" in ASCII).
PARTITION_LOCK_ID = 0x7061727473


def partition_name(day: date) -> str:
    return f"{PARTITION_PREFIX}{day:%Y%m%d}"


def create_partition_sql(day: date) -> str:
    """DDL for the partition holding ``day`` (UTC); a no-op if it exists."""
    return (
        f"CREATE TABLE IF NOT EXISTS {partition_name(day)} PARTITION OF check_result "
        f"FOR VALUES FROM ('{day.isoformat()} 00:00:00+00') "
        f"TO ('{(day + timedelta(days=1)).isoformat()} 00:00:00+00')"
    )


@dataclass(frozen=True)
class PartitionChanges:
    created: list[str]
    dropped: list[str]


async def existing_partitions(connection: asyncpg.Connection) -> dict[date, str]:
    """The day partitions of check_result, by day."""
    rows = await connection.fetch(queries["partition_names"])
    days = {}
    for row in rows:
        match = PARTITION_NAME.match(row["relname"])
        if match:
            days[date(*map(int, (match[1][:4], match[1][4:6], match[1][6:])))] = row["relname"]
    return days


async def manage_partitions(
    connection: asyncpg.Connection, retention_days: int, *, days_ahead: int = DAYS_AHEAD
) -> PartitionChanges:
    """Create the partitions from yesterday to ``days_ahead`` days on; drop those whose whole
    day is more than ``retention_days`` days old. Database clock, UTC days."""
    today: date = await connection.fetchval(queries["utc_today"])
    existing = await existing_partitions(connection)
    created = []
    for offset in range(-1, days_ahead + 1):
        day = today + timedelta(days=offset)
        if day not in existing:
            await connection.execute(create_partition_sql(day))
            created.append(partition_name(day))
    # A day is expired once its end is more than retention_days ago.
    oldest_kept = today - timedelta(days=retention_days)
    dropped = []
    for day, name in sorted(existing.items()):
        if day + timedelta(days=1) <= oldest_kept:
            await connection.execute(f"DROP TABLE IF EXISTS {name}")
            dropped.append(name)
    if created or dropped:
        log.info("partitions: created %s; dropped %s", created or "none", dropped or "none")
    return PartitionChanges(created, dropped)


async def manage_partitions_once(
    connection: asyncpg.Connection, retention_days: int
) -> PartitionChanges | None:
    """``manage_partitions`` unless another process is already doing it (then None)."""
    if not await connection.fetchval(queries["try_partition_lock"], PARTITION_LOCK_ID):
        return None
    try:
        return await manage_partitions(connection, retention_days)
    finally:
        await connection.execute(queries["release_partition_lock"], PARTITION_LOCK_ID)
