"""A confirmed outage of a target, and operators' updates on it (shown on status pages)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry.dataloader import DataLoader

from uptime_core.enums import IncidentUpdateStatus
from uptime_core.history import IncidentRow
from uptime_core.status_pages import IncidentUpdateRow, incident_updates
from uptime_graphql.types.node import Node, global_id
from uptime_graphql.types.pagination import Connection

strawberry.enum(
    IncidentUpdateStatus,
    description="Where operators say an incident stands (status pages show it).",
)


@strawberry.type(description="An operator's word on an incident, in the order posted.")
class IncidentUpdate(Node):
    status: IncidentUpdateStatus
    message: str
    created_at: datetime

    @classmethod
    def from_row(cls, row: IncidentUpdateRow) -> IncidentUpdate:
        return cls(
            id=global_id("IncidentUpdate", row.id),
            status=IncidentUpdateStatus(row.status),
            message=row.message,
            created_at=row.created_at,
        )


def _updates_loader(context: Any) -> DataLoader[int, list[IncidentUpdateRow]]:
    """One loader per request (kept on its context): the updates of every incident a request
    asks for, in one statement."""
    loader: DataLoader[int, list[IncidentUpdateRow]] | None = getattr(
        context, "incident_updates_loader", None
    )
    if loader is None:
        pool = context.pool

        async def load(ids: list[int]) -> list[list[IncidentUpdateRow]]:
            found = await incident_updates(pool, list(ids))
            return [found.get(i, []) for i in ids]

        loader = DataLoader(load)
        context.incident_updates_loader = loader
    return loader


@strawberry.type(
    description="Opened at the first failing check, resolved at the first passing one."
)
class Incident(Node):
    started_at: datetime
    resolved_at: datetime | None
    cause: str | None
    row_id: strawberry.Private[int]

    @strawberry.field(description="Operators' updates (postIncidentUpdate), oldest first.")
    async def updates(self, info: strawberry.Info) -> list[IncidentUpdate]:
        rows = await _updates_loader(info.context).load(self.row_id)
        return [IncidentUpdate.from_row(row) for row in rows]

    @classmethod
    def from_row(cls, row: IncidentRow) -> Incident:
        return cls(
            id=global_id("Incident", row.id),
            started_at=row.started_at,
            resolved_at=row.resolved_at,
            cause=row.cause,
            row_id=row.id,
        )


IncidentConnection = Connection[Incident]
