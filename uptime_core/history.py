"""History: recorded checks and incidents as the API reads them (latest, recent, paged).

Written only by the record statement (``uptime_core.scheduling.record``); read here, with the
statements of ``uptime_core/sql/history.sql``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from uptime_core.paging import page
from uptime_core.sql import queries


@dataclass(frozen=True)
class CheckRow:
    """One recorded check."""

    target_id: int
    scheduled_for: datetime
    started_at: datetime
    finished_at: datetime
    status: str
    latency_ms: float | None
    error_kind: str | None
    message: str | None
    http_status: int | None


@dataclass(frozen=True)
class IncidentRow:
    id: int
    target_id: int
    started_at: datetime
    resolved_at: datetime | None
    cause: str | None


# The API's live events select checks by key themselves (uptime_graphql/live/listener.py).
CHECK_COLUMNS = ", ".join(CheckRow.__dataclass_fields__)


async def latest_checks(
    connection: asyncpg.Connection | asyncpg.Pool, target_ids: list[int]
) -> dict[int, CheckRow]:
    """Each target's most recent check, in one statement."""
    rows = await connection.fetch(queries["latest_checks"], target_ids)
    return {row["target_id"]: CheckRow(**dict(row)) for row in rows}


async def recent_checks(
    connection: asyncpg.Connection | asyncpg.Pool, target_ids: list[int], *, first: int
) -> dict[int, tuple[list[CheckRow], bool]]:
    """Each target's first page of checks (newest first) and whether more follow, in one
    statement: what ``checks_page`` gives for one target without a cursor."""
    rows = await connection.fetch(queries["recent_checks"], target_ids, first + 1)
    grouped: dict[int, list[asyncpg.Record]] = {i: [] for i in target_ids}
    for row in rows:
        grouped[row["target_id"]].append(row)
    return {i: page(found, first, CheckRow) for i, found in grouped.items()}


async def checks_page(
    connection: asyncpg.Connection | asyncpg.Pool,
    target_id: int,
    *,
    first: int,
    before: datetime | None,
) -> tuple[list[CheckRow], bool]:
    """A target's checks, newest first (keyset: slots before ``before``)."""
    rows = await connection.fetch(queries["checks_page"], target_id, before, first + 1)
    return page(rows, first, CheckRow)


async def incident_by_id(
    connection: asyncpg.Connection | asyncpg.Pool, incident_id: int
) -> IncidentRow | None:
    row = await connection.fetchrow(queries["incident_by_id"], incident_id)
    return None if row is None else IncidentRow(**dict(row))


async def incidents_page(
    connection: asyncpg.Connection | asyncpg.Pool,
    target_id: int,
    *,
    first: int,
    before_id: int | None,
) -> tuple[list[IncidentRow], bool]:
    """A target's incidents, newest first (keyset on id)."""
    rows = await connection.fetch(queries["incidents_page"], target_id, before_id, first + 1)
    return page(rows, first, IncidentRow)
