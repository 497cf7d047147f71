"""Public status pages in the API: the ``StatusPage`` type, ``statusPages`` and
``statusPage(slug)``, and the mutations ``createStatusPage``, ``updateStatusPage``,
``deleteStatusPage`` and ``postIncidentUpdate`` (docs/status-pages.md). The pages themselves
are served without a token by ``public/status.py``; every change here drops its cache."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import strawberry

from uptime_core import status_pages as core
from uptime_core.enums import IncidentUpdateStatus, UptimeWindow
from uptime_core.validation import FieldError, InvalidFields
from uptime_graphql.errors import NotFoundError, ValidationError, not_found, validation_error
from uptime_graphql.public.status import invalidate
from uptime_graphql.types.incident import IncidentUpdate
from uptime_graphql.types.node import Node, global_id, parse_global_id, target_keys
from uptime_graphql.types.pagination import Connection, after_key, connection, page_size
from uptime_graphql.types.target import Target


@strawberry.type(description="A named group of targets on a status page, in page order.")
class StatusPageGroup:
    name: str
    target_ids: strawberry.Private[list[int]]

    @strawberry.field(description="Its targets, in group order.")
    async def targets(self, info: strawberry.Info) -> list[Target]:
        rows = await info.context.loaders.target.load_many(self.target_ids)
        return [Target.from_row(row) for row in rows if row is not None]


@strawberry.type(
    description="A public page at `/status/{slug}` (also `.json`, `/feed.atom`, `/feed.rss`): "
    "its targets' names, statuses, uptime and daily bars, their incidents with operators' "
    "updates and their maintenance windows; never an address or an error message."
)
class StatusPage(Node):
    slug: str
    title: str
    description: str | None
    show_latency: bool
    show_uptime_windows: list[UptimeWindow]
    groups: list[StatusPageGroup]
    created_at: datetime
    updated_at: datetime

    @strawberry.field(description="The page's path on this server: `/status/{slug}`.")
    def url(self) -> str:
        return f"/status/{self.slug}"

    @classmethod
    def from_row(cls, row: core.StatusPageRow) -> StatusPage:
        assert row.created_at is not None and row.updated_at is not None
        return cls(
            id=global_id("StatusPage", row.id),
            slug=row.slug,
            title=row.title,
            description=row.description,
            show_latency=row.show_latency,
            show_uptime_windows=[UptimeWindow[name] for name in row.show_uptime_windows],
            groups=[StatusPageGroup(name=g.name, target_ids=g.target_ids) for g in row.groups],
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


StatusPageConnection = Connection[StatusPage]


@strawberry.input(description="A group of a status page: its name and targets, in order.")
class StatusPageGroupInput:
    name: str
    target_ids: list[strawberry.ID]


@strawberry.input
class CreateStatusPageInput:
    slug: str = strawberry.field(
        description="The page's address, /status/{slug}: lowercase letters and digits in runs "
        "joined by single dashes, at most 63 characters."
    )
    title: str
    groups: list[StatusPageGroupInput]
    show_latency: bool = strawberry.field(
        description="Show the average latency over the last 24 hours."
    )
    show_uptime_windows: list[UptimeWindow] = strawberry.field(
        description="The uptime figures shown per target, in this order."
    )
    description: str | None = None


@strawberry.input(description="Absent fields are unchanged; `groups` replaces them all.")
class UpdateStatusPageInput:
    id: strawberry.ID
    slug: str | None = strawberry.UNSET
    title: str | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    groups: list[StatusPageGroupInput] | None = strawberry.UNSET
    show_latency: bool | None = strawberry.UNSET
    show_uptime_windows: list[UptimeWindow] | None = strawberry.UNSET


@strawberry.input
class PostIncidentUpdateInput:
    incident_id: strawberry.ID
    status: IncidentUpdateStatus
    message: str


StatusPageResult = Annotated[
    StatusPage | ValidationError | NotFoundError, strawberry.union("StatusPageResult")
]


@strawberry.type(description="The status page is gone; its address answers 404 from now on.")
class StatusPageDeleted:
    id: strawberry.ID
    slug: str


DeleteStatusPageResult = Annotated[
    StatusPageDeleted | NotFoundError, strawberry.union("DeleteStatusPageResult")
]
IncidentUpdateResult = Annotated[
    IncidentUpdate | ValidationError | NotFoundError, strawberry.union("IncidentUpdateResult")
]


def _groups(given: list[StatusPageGroupInput]) -> list[core.GroupFields]:
    """The groups with their target ids; ``InvalidFields`` naming every id that is not a
    target's."""
    groups: list[core.GroupFields] = []
    problems: list[FieldError] = []
    for n, group in enumerate(given):
        try:
            ids = target_keys(group.target_ids, f"groups.{n}.targetIds")
        except InvalidFields as error:
            problems.extend(error.errors)
            ids = []
        groups.append(core.GroupFields(group.name, ids))
    if problems:
        raise InvalidFields(problems)
    return groups


def _page_id(value: str) -> int | None:
    parsed = parse_global_id(value, "StatusPage")
    return None if parsed is None else parsed[1]


def _changed(info: strawberry.Info) -> None:
    invalidate(getattr(info.context.request, "app", None))


_REQUIRED = {"slug", "title", "groups", "show_latency", "show_uptime_windows"}
_CAMEL = {"show_latency": "showLatency", "show_uptime_windows": "showUptimeWindows"}


@strawberry.type
class QueryPart:
    @strawberry.field(description="Status pages, in creation order.")
    async def status_pages(
        self, info: strawberry.Info, first: int | None = None, after: str | None = None
    ) -> StatusPageConnection:
        size = page_size(first)
        page = await core.list_pages(info.context.pool, size, after_key(after, int))
        return connection(page, lambda row: row.id, StatusPage.from_row)

    @strawberry.field(description="The status page at /status/{slug}, if there is one.")
    async def status_page(self, info: strawberry.Info, slug: str) -> StatusPage | None:
        row = await core.page_by_slug(info.context.pool, slug)
        return None if row is None else StatusPage.from_row(row)


@strawberry.type
class MutationPart:
    @strawberry.mutation(description="Create a public status page (an admin token).")
    async def create_status_page(
        self, info: strawberry.Info, input: CreateStatusPageInput
    ) -> StatusPageResult:
        try:
            fields = core.StatusPageFields(
                slug=input.slug,
                title=input.title,
                description=input.description,
                show_latency=input.show_latency,
                show_uptime_windows=[w.name for w in input.show_uptime_windows],
                groups=_groups(input.groups),
            )
            row = await core.create_page(info.context.pool, fields)
        except InvalidFields as error:
            return validation_error(error)
        _changed(info)
        return StatusPage.from_row(row)

    @strawberry.mutation(
        description="Change a status page; absent fields are unchanged (an admin token)."
    )
    async def update_status_page(
        self, info: strawberry.Info, input: UpdateStatusPageInput
    ) -> StatusPageResult:
        page_id = _page_id(input.id)
        if page_id is None:
            return not_found(input.id)
        changes: dict[str, Any] = {}
        try:
            for name in ("slug", "title", "description", "show_latency"):
                value = getattr(input, name)
                if value is strawberry.UNSET:
                    continue
                if value is None and name in _REQUIRED:
                    raise InvalidFields([FieldError(_CAMEL.get(name, name), "must not be null")])
                changes[name] = value
            if input.show_uptime_windows is not strawberry.UNSET:
                if input.show_uptime_windows is None:
                    raise InvalidFields([FieldError("showUptimeWindows", "must not be null")])
                changes["show_uptime_windows"] = [w.name for w in input.show_uptime_windows]
            if input.groups is not strawberry.UNSET:
                if input.groups is None:
                    raise InvalidFields([FieldError("groups", "must not be null")])
                changes["groups"] = _groups(input.groups)
            row = await core.update_page(info.context.pool, page_id, changes)
        except InvalidFields as error:
            return validation_error(error)
        if row is None:
            return not_found(input.id)
        _changed(info)
        return StatusPage.from_row(row)

    @strawberry.mutation(description="Delete a status page (an admin token).")
    async def delete_status_page(
        self, info: strawberry.Info, id: strawberry.ID
    ) -> DeleteStatusPageResult:
        page_id = _page_id(id)
        slug = None if page_id is None else await core.delete_page(info.context.pool, page_id)
        if slug is None:
            return not_found(id)
        _changed(info)
        return StatusPageDeleted(id=id, slug=slug)

    @strawberry.mutation(
        description="Post an operator's update on an incident: shown on the status pages of "
        "its target and in their feeds (a write token)."
    )
    async def post_incident_update(
        self, info: strawberry.Info, input: PostIncidentUpdateInput
    ) -> IncidentUpdateResult:
        parsed = parse_global_id(input.incident_id, "Incident")
        if parsed is None:
            return not_found(input.incident_id)
        try:
            row = await core.post_incident_update(
                info.context.pool, parsed[1], input.status, input.message
            )
        except InvalidFields as error:
            return validation_error(error)
        if row is None:
            return not_found(input.incident_id)
        _changed(info)
        return IncidentUpdate.from_row(row)
