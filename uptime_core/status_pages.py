"""Public status pages as the API manages them, and operators' updates on incidents.

A page has a slug (the key format of ``keys.py``: it is the page's address, ``/status/{slug}``),
a title, an optional description, whether to show latency, which uptime windows to show
(``UptimeWindow`` names, in order) and groups of targets, each a name and targets in order.
A page is written whole in one transaction (its row, then its groups replaced), so nothing is
ever half-written; every problem is raised at once as ``InvalidFields`` naming its field as the
API spells it (``slug``, ``groups.1.targetIds``). What a page shows to the public is read by
``public_status.py``. Statements: ``uptime_core/sql/status_pages.sql``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import datetime

import asyncpg

from uptime_core.enums import IncidentUpdateStatus
from uptime_core.keys import key_problem
from uptime_core.models_public import STATUS_PAGE_WINDOWS
from uptime_core.runtime.db import acquired
from uptime_core.sql import queries
from uptime_core.validation import FieldError, InvalidFields

MAX_TITLE_LENGTH = 200
MAX_DESCRIPTION_LENGTH = 2000
MAX_GROUP_NAME_LENGTH = 200
MAX_GROUPS = 50
MAX_TARGETS_PER_PAGE = 1000
MAX_UPDATE_MESSAGE_LENGTH = 5000


@dataclass(frozen=True)
class GroupFields:
    name: str
    target_ids: list[int]


@dataclass(frozen=True)
class StatusPageFields:
    """A page's settings as given (create) or after merging the changes (update)."""

    slug: str
    title: str
    description: str | None = None
    show_latency: bool = False
    show_uptime_windows: list[str] = field(default_factory=list)
    groups: list[GroupFields] = field(default_factory=list)


@dataclass(frozen=True)
class StatusPageRow(StatusPageFields):
    id: int = 0
    created_at: datetime | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True)
class IncidentUpdateRow:
    id: int
    incident_id: int
    status: str
    message: str
    created_at: datetime


def _problems(fields: StatusPageFields) -> list[FieldError]:
    problems: list[FieldError] = []
    if (problem := key_problem(fields.slug)) is not None:
        problems.append(FieldError("slug", problem))
    if not fields.title.strip():
        problems.append(FieldError("title", "must not be empty"))
    elif len(fields.title) > MAX_TITLE_LENGTH:
        problems.append(FieldError("title", f"must be at most {MAX_TITLE_LENGTH} characters"))
    if fields.description is not None and len(fields.description) > MAX_DESCRIPTION_LENGTH:
        problems.append(
            FieldError("description", f"must be at most {MAX_DESCRIPTION_LENGTH} characters")
        )
    unknown = [w for w in fields.show_uptime_windows if w not in STATUS_PAGE_WINDOWS]
    if unknown:
        problems.append(
            FieldError(
                "showUptimeWindows",
                f"{', '.join(unknown)} is not a window (one of {', '.join(STATUS_PAGE_WINDOWS)})",
            )
        )
    elif len(set(fields.show_uptime_windows)) != len(fields.show_uptime_windows):
        problems.append(FieldError("showUptimeWindows", "names a window twice"))
    if len(fields.groups) > MAX_GROUPS:
        problems.append(FieldError("groups", f"must be at most {MAX_GROUPS} groups"))
    if sum(len(g.target_ids) for g in fields.groups) > MAX_TARGETS_PER_PAGE:
        problems.append(
            FieldError("groups", f"must hold at most {MAX_TARGETS_PER_PAGE} targets in all")
        )
    for n, group in enumerate(fields.groups):
        if not group.name.strip():
            problems.append(FieldError(f"groups.{n}.name", "must not be empty"))
        elif len(group.name) > MAX_GROUP_NAME_LENGTH:
            problems.append(
                FieldError(
                    f"groups.{n}.name", f"must be at most {MAX_GROUP_NAME_LENGTH} characters"
                )
            )
        if len(set(group.target_ids)) != len(group.target_ids):
            problems.append(FieldError(f"groups.{n}.targetIds", "names a target twice"))
    return problems


async def _check_targets(connection: asyncpg.Connection, fields: StatusPageFields) -> None:
    wanted = sorted({i for g in fields.groups for i in g.target_ids})
    found = {row["id"] for row in await connection.fetch(queries["existing_target_ids"], wanted)}
    problems = [
        FieldError(f"groups.{n}.targetIds", "names a target that does not exist")
        for n, group in enumerate(fields.groups)
        if any(i not in found for i in group.target_ids)
    ]
    if problems:
        raise InvalidFields(problems)


def check_page_fields(fields: StatusPageFields) -> StatusPageFields:
    """The fields with the title, description and group names stripped (a blank description
    is none); ``InvalidFields`` with every problem."""
    description = fields.description.strip() if fields.description is not None else None
    cleaned = replace(
        fields,
        title=fields.title.strip(),
        description=description or None,
        groups=[GroupFields(g.name.strip(), list(g.target_ids)) for g in fields.groups],
    )
    problems = _problems(cleaned)
    if problems:
        raise InvalidFields(problems)
    return cleaned


def _values(fields: StatusPageFields) -> list[object]:
    return [
        fields.slug,
        fields.title,
        fields.description,
        fields.show_latency,
        list(fields.show_uptime_windows),
    ]


async def _write_groups(
    connection: asyncpg.Connection, page_id: int, groups: list[GroupFields]
) -> None:
    await connection.execute(queries["delete_status_page_groups"], page_id)
    if not groups:
        return
    rows = await connection.fetch(
        queries["insert_status_page_groups"], page_id, [g.name for g in groups]
    )
    group_ids: list[int] = []
    target_ids: list[int] = []
    positions: list[int] = []
    for row, group in zip(rows, groups, strict=True):
        for position, target_id in enumerate(group.target_ids):
            group_ids.append(row["id"])
            target_ids.append(target_id)
            positions.append(position)
    if target_ids:
        await connection.execute(
            queries["insert_status_page_targets"], group_ids, target_ids, positions
        )


class _SlugTaken:
    """Turns the unique violation on ``status_page.slug`` into a ``slug`` field error."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: object, error: BaseException | None, traceback: object) -> None:
        if isinstance(error, asyncpg.UniqueViolationError):
            raise InvalidFields([FieldError("slug", "is already used by another status page")])


async def create_page(
    source: asyncpg.Connection | asyncpg.Pool, fields: StatusPageFields
) -> StatusPageRow:
    """Create a page with its groups, in one transaction; ``InvalidFields`` otherwise."""
    fields = check_page_fields(fields)
    async with acquired(source) as connection, connection.transaction():
        await _check_targets(connection, fields)
        with _SlugTaken():
            page_id = await connection.fetchval(queries["insert_status_page"], *_values(fields))
        await _write_groups(connection, page_id, fields.groups)
        return (await pages_by_id(connection, [page_id]))[0]


async def update_page(
    source: asyncpg.Connection | asyncpg.Pool, page_id: int, changes: dict[str, object]
) -> StatusPageRow | None:
    """Apply ``changes`` (StatusPageFields' names; absent ones stay) to page ``page_id``, in one
    transaction; None if there is no such page; ``InvalidFields`` otherwise."""
    async with acquired(source) as connection, connection.transaction():
        if await connection.fetchval(queries["status_page_for_update"], page_id) is None:
            return None
        current = (await pages_by_id(connection, [page_id]))[0]
        merged = check_page_fields(
            StatusPageFields(
                **{
                    name: changes.get(name, getattr(current, name))
                    for name in StatusPageFields.__dataclass_fields__
                }  # type: ignore[arg-type]
            )
        )
        await _check_targets(connection, merged)
        with _SlugTaken():
            await connection.execute(queries["update_status_page"], page_id, *_values(merged))
        if "groups" in changes:
            await _write_groups(connection, page_id, merged.groups)
        return (await pages_by_id(connection, [page_id]))[0]


async def delete_page(source: asyncpg.Connection | asyncpg.Pool, page_id: int) -> str | None:
    """Delete a page (its groups go with it); its slug, or None if there was no such page."""
    async with acquired(source) as connection, connection.transaction():
        pages = await pages_by_id(connection, [page_id])
        if not pages:
            return None
        await connection.execute(queries["delete_status_page"], page_id)
        return pages[0].slug


def _page(record: asyncpg.Record) -> StatusPageRow:
    return StatusPageRow(
        id=record["id"],
        slug=record["slug"],
        title=record["title"],
        description=record["description"],
        show_latency=record["show_latency"],
        show_uptime_windows=list(record["show_uptime_windows"]),
        groups=[GroupFields(name, list(ids)) for name, ids in json.loads(record["groups"])],
        created_at=record["created_at"],
        updated_at=record["updated_at"],
    )


async def pages_by_id(
    source: asyncpg.Connection | asyncpg.Pool, page_ids: list[int] | None
) -> list[StatusPageRow]:
    """Pages ``page_ids`` (None: all of them), in id order, in one statement."""
    records = await source.fetch(queries["status_pages_by_id"], page_ids, None, None)
    return [_page(record) for record in records]


async def list_pages(
    source: asyncpg.Connection | asyncpg.Pool, first: int, after_id: int | None
) -> tuple[list[StatusPageRow], bool]:
    """A keyset page of pages in creation order, and whether more follow."""
    records = await source.fetch(queries["status_pages_by_id"], None, after_id, first + 1)
    return [_page(record) for record in records[:first]], len(records) > first


async def page_by_slug(
    source: asyncpg.Connection | asyncpg.Pool, slug: str
) -> StatusPageRow | None:
    async with acquired(source) as connection:
        page_id = await connection.fetchval(queries["status_page_id_by_slug"], slug)
        if page_id is None:
            return None
        pages = await pages_by_id(connection, [page_id])
    return pages[0] if pages else None


# -- incident updates ------------------------------------------------------------------------


def _update(record: asyncpg.Record) -> IncidentUpdateRow:
    return IncidentUpdateRow(**dict(record))


async def post_incident_update(
    source: asyncpg.Connection | asyncpg.Pool,
    incident_id: int,
    status: IncidentUpdateStatus,
    message: str,
) -> IncidentUpdateRow | None:
    """Add an operator's update to an incident; None if there is no such incident;
    ``InvalidFields`` on ``message`` when it is blank or too long."""
    message = message.strip()
    if not message:
        raise InvalidFields([FieldError("message", "must not be empty")])
    if len(message) > MAX_UPDATE_MESSAGE_LENGTH:
        raise InvalidFields(
            [FieldError("message", f"must be at most {MAX_UPDATE_MESSAGE_LENGTH} characters")]
        )
    async with acquired(source) as connection, connection.transaction():
        if not await connection.fetchval(queries["incident_exists"], incident_id):
            return None
        try:
            record = await connection.fetchrow(
                queries["insert_incident_update"], incident_id, status.value, message
            )
        except asyncpg.ForeignKeyViolationError:  # deleted meanwhile
            return None
    return _update(record)


async def incident_updates(
    source: asyncpg.Connection | asyncpg.Pool, incident_ids: list[int]
) -> dict[int, list[IncidentUpdateRow]]:
    """The updates of each incident, oldest first, in one statement."""
    records = await source.fetch(queries["incident_updates"], incident_ids)
    answer: dict[int, list[IncidentUpdateRow]] = {i: [] for i in incident_ids}
    for record in records:
        answer[record["incident_id"]].append(_update(record))
    return answer
