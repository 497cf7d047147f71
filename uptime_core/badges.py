"""What a badge shows (``/badge/{key}/...``): a public target's state, uptime or latency.

Only targets marked ``public`` have badges; an unknown key and a private one both read as
None, so the answer never tells whether a private key exists.
"""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from uptime_core.enums import UptimeWindow
from uptime_core.sql import queries
from uptime_core.stats.uptime import Uptime, uptime_for_targets

# The windows of ``/badge/{key}/uptime/{window}.svg``, by their name in the path.
BADGE_WINDOWS: dict[str, UptimeWindow] = {
    "24h": UptimeWindow.LAST_24_HOURS,
    "7d": UptimeWindow.LAST_7_DAYS,
    "30d": UptimeWindow.LAST_30_DAYS,
    "90d": UptimeWindow.LAST_90_DAYS,
}

# The window the latency badge averages over.
LATENCY_WINDOW = UptimeWindow.LAST_24_HOURS


@dataclass(frozen=True)
class BadgeTarget:
    id: int
    key: str
    name: str
    status: str  # the confirmed state (TargetStatus)
    paused: bool


async def public_target(pool: asyncpg.Pool, key: str) -> BadgeTarget | None:
    """The target ``key`` if it is public; None for an unknown or a private key alike."""
    row = await pool.fetchrow(queries["public_target_by_key"], key)
    return BadgeTarget(**dict(row)) if row is not None else None


async def badge_uptime(pool: asyncpg.Pool, target_id: int, window: UptimeWindow) -> Uptime | None:
    """The target's uptime over ``window`` (from the rollups; no percentiles)."""
    answers = await uptime_for_targets(pool, [target_id], [window], percentiles=[False])
    return answers[target_id][0] if target_id in answers else None
