"""A confirmed outage of a target."""

from __future__ import annotations

from datetime import datetime

import strawberry

from uptime_core.history import IncidentRow
from uptime_graphql.types.node import Node, global_id
from uptime_graphql.types.pagination import Connection


@strawberry.type(
    description="Opened at the first failing check, resolved at the first passing one."
)
class Incident(Node):
    started_at: datetime
    resolved_at: datetime | None
    cause: str | None

    @classmethod
    def from_row(cls, row: IncidentRow) -> Incident:
        return cls(
            id=global_id("Incident", row.id),
            started_at=row.started_at,
            resolved_at=row.resolved_at,
            cause=row.cause,
        )


IncidentConnection = Connection[Incident]
