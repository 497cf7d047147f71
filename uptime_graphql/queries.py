"""Queries: targets (paged, filtered), one target, any node by id; notification channels,
their deliveries and maintenance windows."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import cast

import strawberry
from strawberry.scalars import JSON
from strawberry.types.nodes import SelectedField, Selection

from uptime_core import __version__
from uptime_core import targets as core_targets
from uptime_core.alerting.channels import channel_by_id
from uptime_core.configuration.export import export_document
from uptime_core.enums import UptimeWindow
from uptime_core.history import incident_by_id
from uptime_core.maintenance import window_by_id
from uptime_core.status_pages import pages_by_id
from uptime_core.targets import list_targets
from uptime_graphql import status_pages, tokens
from uptime_graphql.types.channel import (
    DeliveryConnection,
    NotificationChannel,
    NotificationChannelConnection,
    channels_page,
    deliveries_page,
)
from uptime_graphql.types.enums import DeliveryState, TargetStatus
from uptime_graphql.types.incident import Incident
from uptime_graphql.types.maintenance import (
    MaintenanceWindow,
    MaintenanceWindowConnection,
    windows_page,
)
from uptime_graphql.types.node import Node, parse_global_id
from uptime_graphql.types.pagination import after_key, connection, page_size
from uptime_graphql.types.target import Target, TargetConnection


def _fields(selections: Iterable[Selection]) -> Iterator[SelectedField]:
    """The fields of a selection set, those inside fragments included."""
    for selection in selections:
        if isinstance(selection, SelectedField):
            yield selection
        else:
            yield from _fields(selection.selections)


def _asked_of_each_target(selected: list[Selection]) -> tuple[bool, list[UptimeWindow]]:
    """Whether a page of targets asks each node for lastCheck, and for uptime over which
    windows (the ones named literally or by a variable)."""
    last_check = False
    windows: set[UptimeWindow] = set()
    for targets in _fields(selected):
        edges = (f for f in _fields(targets.selections) if f.name == "edges")
        nodes = (n for e in edges for n in _fields(e.selections) if n.name == "node")
        for field in (f for node in nodes for f in _fields(node.selections)):
            window = field.arguments.get("window")
            if field.name == "lastCheck":
                last_check = True
            elif field.name == "uptime" and isinstance(window, str):
                windows.update(w for w in UptimeWindow if w.name == window)
    return last_check, sorted(windows, key=lambda w: w.value)


@strawberry.type(description="The root of every query.")
class Query(tokens.QueryPart, status_pages.QueryPart):
    @strawberry.field(description="The server's version.")
    def version(self) -> str:
        return __version__

    @strawberry.field(description="Targets in creation order, optionally by status or name.")
    async def targets(
        self,
        info: strawberry.Info,
        first: int | None = None,
        after: str | None = None,
        status: TargetStatus | None = None,
        search: str | None = None,
    ) -> TargetConnection:
        size = page_size(first, default=50)
        rows, more = await list_targets(
            info.context.pool,
            first=size,
            after_id=after_key(after, int),
            status=status.value if status else None,
            search=search,
        )
        for row in rows:  # prime the loader: fields asking for a target find it here
            info.context.loaders.target.prime(row.id, row)
        last_check, windows = _asked_of_each_target(info.selected_fields)
        await info.context.loaders.prefetch(
            [row.id for row in rows], last_check=last_check, windows=windows
        )
        return connection((rows, more), lambda row: row.id, Target.from_row)

    @strawberry.field(description="One target, or null if there is none with this id.")
    async def target(self, info: strawberry.Info, id: strawberry.ID) -> Target | None:
        parsed = parse_global_id(id, "Target")
        if parsed is None:
            return None
        row = await info.context.loaders.target.load(parsed[1])
        return None if row is None else Target.from_row(row)

    @strawberry.field(description="One target by its key, or null if there is none.")
    async def target_by_key(self, info: strawberry.Info, key: str) -> Target | None:
        row = await core_targets.target_by_key(info.context.pool, key)
        if row is None:
            return None
        info.context.loaders.target.prime(row.id, row)
        return Target.from_row(row)

    @strawberry.field(description="Any object by its global id.")
    async def node(self, info: strawberry.Info, id: strawberry.ID) -> Node | None:
        parsed = parse_global_id(id)
        if parsed is None:
            return None
        type_name, key = parsed
        if type_name == "Target":
            row = await info.context.loaders.target.load(key)
            return None if row is None else Target.from_row(row)
        if type_name == "Incident":
            incident = await incident_by_id(info.context.pool, key)
            return None if incident is None else Incident.from_row(incident)
        if type_name == "NotificationChannel":
            channel = await channel_by_id(info.context.pool, key)
            return None if channel is None else NotificationChannel.from_row(channel)
        if type_name == "MaintenanceWindow":
            window = await window_by_id(info.context.pool, key)
            return None if window is None else MaintenanceWindow.from_row(window)
        if type_name == "StatusPage":
            pages = await pages_by_id(info.context.pool, [key])
            return status_pages.StatusPage.from_row(pages[0]) if pages else None
        return None

    @strawberry.field(description="Notification channels in creation order.")
    async def channels(
        self, info: strawberry.Info, first: int | None = None, after: str | None = None
    ) -> NotificationChannelConnection:
        return await channels_page(
            info.context.pool, page_size(first, default=50), after_key(after, int)
        )

    @strawberry.field(
        description="Deliveries (the outbox), newest first: their state, attempts and last "
        "error; optionally of one channel or in one state."
    )
    async def deliveries(
        self,
        info: strawberry.Info,
        first: int | None = None,
        after: str | None = None,
        channel_id: strawberry.ID | None = None,
        state: DeliveryState | None = None,
    ) -> DeliveryConnection:
        channel = None if channel_id is None else parse_global_id(channel_id, "NotificationChannel")
        return await deliveries_page(
            info.context.pool,
            page_size(first, default=50),
            after_key(after, int),
            # An id that is not a channel's matches no delivery.
            None if channel_id is None else (channel[1] if channel else -1),
            state,
        )

    @strawberry.field(
        description="Maintenance windows in creation order; with targetId, those that apply "
        "to that target (its own and those for all targets)."
    )
    async def maintenance_windows(
        self,
        info: strawberry.Info,
        first: int | None = None,
        after: str | None = None,
        target_id: strawberry.ID | None = None,
    ) -> MaintenanceWindowConnection:
        target = None if target_id is None else parse_global_id(target_id, "Target")
        return await windows_page(
            info.context.pool,
            page_size(first, default=50),
            after_key(after, int),
            None if target_id is None else (target[1] if target else -1),
        )

    @strawberry.field(
        description="Every target, channel and maintenance window as one configuration "
        "document (docs/configuration.md; what `uptime export` writes). Secret values are "
        "written as `${NAME}` references, never themselves: applying the document with those "
        "variables set changes nothing."
    )
    async def configuration_document(self, info: strawberry.Info) -> JSON:
        return cast(JSON, await export_document(info.context.pool))
