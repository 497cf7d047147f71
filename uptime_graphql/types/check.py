"""One recorded check."""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from uptime_core.history import CheckRow
from uptime_graphql.loaders import loaded
from uptime_graphql.types.enums import CheckStatus
from uptime_graphql.types.pagination import Connection

if TYPE_CHECKING:
    from uptime_graphql.types.target import Target


@strawberry.type(description="The one recorded result of one slot of one target.")
class Check:
    scheduled_for: datetime
    started_at: datetime
    finished_at: datetime
    status: CheckStatus
    latency_ms: float | None
    error_kind: str | None
    message: str | None
    http_status: int | None
    target_id: strawberry.Private[int]

    @strawberry.field(
        graphql_type=Annotated["Target", strawberry.lazy("uptime_graphql.types.target")]
    )
    def target(self, info: strawberry.Info) -> Target | Awaitable[Target]:
        # A subscription asks this of every event: at once when the loader holds the target.
        from uptime_graphql.types.target import Target

        found, row = loaded(info.context.loaders.target, self.target_id)
        if found and row is not None:
            return Target.from_row(row)
        return self._load_target(info)

    async def _load_target(self, info: strawberry.Info) -> Target:
        from uptime_graphql.types.target import Target

        row = await info.context.loaders.target.load(self.target_id)
        return Target.from_row(row)

    @classmethod
    def from_row(cls, row: CheckRow) -> Check:
        return cls(
            scheduled_for=row.scheduled_for,
            started_at=row.started_at,
            finished_at=row.finished_at,
            status=CheckStatus(row.status),
            latency_ms=row.latency_ms,
            error_kind=row.error_kind,
            message=row.message,
            http_status=row.http_status,
            target_id=row.target_id,
        )


CheckConnection = Connection[Check]
