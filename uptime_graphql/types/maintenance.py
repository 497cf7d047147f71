"""Maintenance windows: one-off, or weekly in a time zone; per target or for all."""

from __future__ import annotations

from datetime import datetime, time

import asyncpg
import strawberry

from uptime_core import maintenance
from uptime_graphql.types.enums import MaintenanceKind, Weekday
from uptime_graphql.types.node import Node, global_id
from uptime_graphql.types.pagination import Connection, connection


@strawberry.type(
    description="Time when checks keep running, notifications are held back and statistics "
    "report maintenance instead of up or down."
)
class MaintenanceWindow(Node):
    name: str
    key: str = strawberry.field(
        description="Stable and unique among maintenance windows: lowercase letters and digits "
        "in runs joined by single dashes, at most 63 characters; derived from the name unless "
        "given."
    )
    target_id: strawberry.ID | None = strawberry.field(description="Null: every target.")
    kind: MaintenanceKind
    starts_at: datetime | None
    ends_at: datetime | None
    weekdays: list[Weekday] | None
    local_start: time | None
    duration_seconds: int | None
    time_zone: str | None = strawberry.field(description="An IANA name, e.g. Europe/Paris.")
    active: bool = strawberry.field(description="The window covers the present moment.")
    created_at: datetime

    @classmethod
    def from_row(cls, row: maintenance.MaintenanceRow) -> MaintenanceWindow:
        assert row.created_at is not None
        return cls(
            id=global_id("MaintenanceWindow", row.id),
            name=row.name,
            key=row.key,
            target_id=None if row.target_id is None else global_id("Target", row.target_id),
            kind=row.kind,
            starts_at=row.starts_at,
            ends_at=row.ends_at,
            weekdays=None if row.weekdays is None else [Weekday(d) for d in row.weekdays],
            local_start=row.local_start,
            duration_seconds=row.duration_seconds,
            time_zone=row.time_zone,
            active=row.active,
            created_at=row.created_at,
        )


MaintenanceWindowConnection = Connection[MaintenanceWindow]


async def windows_page(
    pool: asyncpg.Pool, first: int, after: int | None, target_id: int | None
) -> MaintenanceWindowConnection:
    found = await maintenance.list_windows(pool, first, after, target_id)
    return connection(found, lambda row: row.id, MaintenanceWindow.from_row)
