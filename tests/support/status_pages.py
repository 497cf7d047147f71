"""Status page fixtures written straight into the database: hourly check history over the
last 90 UTC days, incidents and maintenance windows (the browser test and bench/status_page.py
seed with these)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg

from tests.support.targets import record_history


def today() -> datetime:
    now = datetime.now(UTC)
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


async def seed_days(
    connection: asyncpg.Connection,
    target_id: int,
    *,
    days: int = 90,
    down_hours: dict[int, int] | None = None,
    latency_ms: float = 120.0,
) -> int:
    """One check an hour for ``days`` UTC days up to the current hour; on the days in
    ``down_hours`` (days ago: 0 is today) that many of the day's first hours are DOWN. How many
    checks were recorded."""
    down_hours = down_hours or {}
    start = today() - timedelta(days=days - 1)
    now = datetime.now(UTC)
    checks: list[tuple[datetime, str, float | None]] = []
    slot = start
    while slot <= now:
        ago = (today() - slot.replace(hour=0)).days
        down = slot.hour < down_hours.get(ago, 0)
        checks.append((slot, "down" if down else "up", None if down else latency_ms))
        slot += timedelta(hours=1)
    return await record_history(connection, target_id, checks)


async def add_incident(
    connection: asyncpg.Connection,
    target_id: int,
    started_at: datetime,
    resolved_at: datetime | None,
    cause: str = "connection refused by 10.0.0.7",
) -> int:
    incident_id: int = await connection.fetchval(
        "INSERT INTO incident (target_id, started_at, resolved_at, cause) "
        "VALUES ($1, $2, $3, $4) RETURNING id",
        target_id,
        started_at,
        resolved_at,
        cause,
    )
    return incident_id


async def add_maintenance(
    connection: asyncpg.Connection,
    name: str,
    target_id: int | None,
    starts_at: datetime,
    ends_at: datetime,
) -> int:
    window_id: int = await connection.fetchval(
        "INSERT INTO maintenance_window (name, target_id, kind, starts_at, ends_at) "
        "VALUES ($1, $2, 'once', $3, $4) RETURNING id",
        name,
        target_id,
        starts_at,
        ends_at,
    )
    return window_id
