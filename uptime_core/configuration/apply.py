"""Apply: make the database match a configuration document, in one transaction.

``apply_document`` compares a ``Document`` (``parse_documents``) with what is stored, object by
object of each kind by key, and answers the ``Plan``: what it creates, what it updates (with
the fields that change, named as the document names them: ``intervalSeconds``,
``http.headers``, ``webhook.secret``), what it deletes (only with ``prune``: the objects the
document does not name), and how many are unchanged. Unless it is a dry run, it then writes
exactly that, through the same core functions as the API (so the same rules hold), in the
same transaction, which holds an advisory lock from the first read to the commit: two applies
at once run one after the other, the second planning against what the first wrote. A problem
found while writing (a time zone the database does not know, say) is an ``InvalidFields`` at
the object's place in the document, and nothing is written.

New targets are first checked within a second or so, as when created through the API (and so
are targets whose probe or interval changed: ``targets.update_target``), unless one apply
reschedules more than ``SPREAD_ABOVE`` that way: then their next slots are spread evenly over
their intervals, so that an import runs at its steady rate from the start (later slots keep
that phase) instead of all at once.

An object the document names is replaced whole: a field it leaves out takes its default, as
in a new object. Updating a target keeps its key, id and history (results, incidents); what a
target's update does to its schedule is ``targets.update_target``'s (a change to what it
probes brings its next check forward). Paused targets stay paused: pausing is an operation,
not configuration.

Secret values (a webhook's URL, a header's value) are compared like the rest and named in the
plan only by their field, never shown.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from enum import StrEnum
from typing import Any, TypeVar

import asyncpg
from pydantic.alias_generators import to_camel

from uptime_core import maintenance, targets
from uptime_core.alerting import channels
from uptime_core.configuration.document import ChannelEntry, Document, TargetEntry, WindowEntry
from uptime_core.scheduling.claim import FIRST_SLOTS_PER_SECOND
from uptime_core.sql import queries
from uptime_core.validation import FieldError, InvalidFields

PAGE = 500
# More targets created or rescheduled by one apply than a worker's claim-ahead second is meant
# to take at once: their next slots are spread evenly over their intervals (spread_first_slots).
SPREAD_ABOVE = FIRST_SLOTS_PER_SECOND


class Action(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"


class ObjectKind(StrEnum):
    TARGET = "target"
    CHANNEL = "channel"
    MAINTENANCE_WINDOW = "maintenance_window"


@dataclass(frozen=True)
class Change:
    """One object created, updated (``fields``: what changes) or deleted."""

    action: Action
    kind: ObjectKind
    key: str
    fields: tuple[str, ...] = ()
    where: str | None = None  # its place in the document (None for a delete)


@dataclass(frozen=True)
class Plan:
    """What an apply changes (or would, for a dry run); ``applied``: it was written."""

    changes: tuple[Change, ...]
    unchanged: int
    dry_run: bool
    prune: bool
    applied: bool

    def count(self, action: Action) -> int:
        return sum(1 for change in self.changes if change.action is action)


@dataclass
class _Stored:
    """Everything stored, by key."""

    targets: dict[str, targets.TargetRow]
    channels: dict[str, channels.ChannelRow]
    windows: dict[str, maintenance.MaintenanceRow]
    _keys: dict[int, str] = field(init=False)

    def __post_init__(self) -> None:
        self._keys = {row.id: key for key, row in self.targets.items()}

    def target_key(self, target_id: int | None) -> str | None:
        return None if target_id is None else self._keys.get(target_id)


async def apply_document(
    connection: asyncpg.Connection, document: Document, *, dry_run: bool, prune: bool
) -> Plan:
    """Plan, and unless ``dry_run`` write, the changes that make the database match
    ``document`` (see the module docstring); raises ``InvalidFields`` with nothing written."""
    async with connection.transaction():
        await connection.execute(queries["configuration_lock"])
        stored = await _read(connection)
        changes, unchanged = _plan(document, stored, prune=prune)
        if not dry_run and changes:
            await _write(connection, document, stored, changes)
    return Plan(
        changes=tuple(changes),
        unchanged=unchanged,
        dry_run=dry_run,
        prune=prune,
        applied=bool(changes) and not dry_run,
    )


# -- reading -------------------------------------------------------------------------------

Row = TypeVar("Row")


async def _every(
    list_page: Callable[[int, int | None], Awaitable[tuple[list[Row], bool]]],
) -> list[Row]:
    rows: list[Row] = []
    after: int | None = None
    while True:
        found, more = await list_page(PAGE, after)
        rows.extend(found)
        if not more or not found:
            return rows
        after = getattr(found[-1], "id")  # noqa: B009 (Row is any row type with an id)


async def _read(connection: asyncpg.Connection) -> _Stored:
    ids = [row["id"] for row in await connection.fetch(queries["configuration_target_ids"])]
    stored_targets = await targets.targets_by_id(connection, ids)
    stored_channels = await _every(
        lambda first, after: channels.list_channels(connection, first, after)
    )
    stored_windows = await _every(
        lambda first, after: maintenance.list_windows(connection, first, after)
    )
    return _Stored(
        targets={row.key: row for row in stored_targets.values()},
        channels={row.key: row for row in stored_channels},
        windows={row.key: row for row in stored_windows},
    )


# -- planning ------------------------------------------------------------------------------


def _differs(a: Any, b: Any) -> bool:
    # As JSON text: in Python 1 == 1.0 == True; in an option (a JSON assertion) they differ.
    return json.dumps(a, sort_keys=True, default=str) != json.dumps(b, sort_keys=True, default=str)


def _changed_settings(
    prefix: str, given: Mapping[str, Any], stored: Mapping[str, Any]
) -> list[str]:
    """The keys of a settings object (target options, channel config) whose values differ,
    as ``prefix.key`` in the document's spelling."""
    names = sorted(set(given) | set(stored))
    return [
        f"{prefix}.{_spelled(name)}"
        for name in names
        if _differs(given.get(name), stored.get(name))
    ]


def _spelled(name: str) -> str:
    """A stored field name as the document spells it (camelCase; email's from and to)."""
    return {"from_address": "from", "to_addresses": "to"}.get(name, to_camel(name))


def _target_changes(entry: TargetEntry, row: targets.TargetRow) -> list[str]:
    given = entry.fields
    changed = [
        _spelled(name)
        for name in (f.name for f in fields(targets.TargetFields))
        if name not in ("options", "key") and _differs(getattr(given, name), getattr(row, name))
    ]
    return changed + _changed_settings(given.kind, given.options or {}, row.options or {})


def _channel_changes(entry: ChannelEntry, row: channels.ChannelRow, stored: _Stored) -> list[str]:
    given = entry.fields
    changed = [
        _spelled(name)
        for name in ("name", "kind", "enabled", "all_targets", "reminder_interval_seconds")
        if _differs(getattr(given, name), getattr(row, name))
    ]
    watched = sorted(key for key in map(stored.target_key, row.target_ids) if key is not None)
    if sorted(entry.target_keys) != watched:
        changed.append("targets")
    return changed + _changed_settings(given.kind.value, given.config, row.config)


_WINDOW_FIELDS = (
    "name",
    "kind",
    "starts_at",
    "ends_at",
    "weekdays",
    "local_start",
    "duration_seconds",
    "time_zone",
)


def _window_changes(
    entry: WindowEntry, row: maintenance.MaintenanceRow, stored: _Stored
) -> list[str]:
    changed = [
        _spelled(name)
        for name in _WINDOW_FIELDS
        if getattr(entry.fields, name) != getattr(row, name)
    ]
    if entry.target_key != stored.target_key(row.target_id):
        changed.append("target")
    return changed


def _plan(document: Document, stored: _Stored, *, prune: bool) -> tuple[list[Change], int]:
    changes: list[Change] = []
    unchanged = 0

    def compare(
        kind: ObjectKind,
        entries: Iterable[TargetEntry | ChannelEntry | WindowEntry],
        rows: Mapping[str, Any],
        changed: Callable[[Any, Any], list[str]],
    ) -> None:
        nonlocal unchanged
        named = set()
        for entry in entries:
            named.add(entry.key)
            row = rows.get(entry.key)
            if row is None:
                changes.append(Change(Action.CREATE, kind, entry.key, where=entry.where))
            elif found := changed(entry, row):
                changes.append(Change(Action.UPDATE, kind, entry.key, tuple(found), entry.where))
            else:
                unchanged += 1
        if prune:
            changes.extend(Change(Action.DELETE, kind, key) for key in sorted(set(rows) - named))

    compare(ObjectKind.TARGET, document.targets, stored.targets, _target_changes)
    compare(
        ObjectKind.CHANNEL,
        document.channels,
        stored.channels,
        lambda entry, row: _channel_changes(entry, row, stored),
    )
    compare(
        ObjectKind.MAINTENANCE_WINDOW,
        document.maintenance_windows,
        stored.windows,
        lambda entry, row: _window_changes(entry, row, stored),
    )
    return changes, unchanged


# -- writing -------------------------------------------------------------------------------


def _at(where: str, error: InvalidFields) -> InvalidFields:
    """The core's problems with an object at the object's place in the document."""
    return InvalidFields(
        [
            FieldError(f"{where}.{found.field}" if found.field else where, found.message)
            for found in error.errors
        ]
    )


async def _write(
    connection: asyncpg.Connection, document: Document, stored: _Stored, changes: list[Change]
) -> None:
    wanted = {(change.kind, change.key): change.action for change in changes}

    def action(kind: ObjectKind, key: str) -> Action | None:
        return wanted.get((kind, key))

    # Deletions first, windows and channels before the targets they may name.
    for key, window in stored.windows.items():
        if action(ObjectKind.MAINTENANCE_WINDOW, key) is Action.DELETE:
            await maintenance.delete_window(connection, window.id)
    for key, channel in stored.channels.items():
        if action(ObjectKind.CHANNEL, key) is Action.DELETE:
            await channels.delete_channel(connection, channel.id)
    for key, target in stored.targets.items():
        if action(ObjectKind.TARGET, key) is Action.DELETE:
            await targets.delete_target(connection, target.id)

    target_ids = {key: row.id for key, row in stored.targets.items()}
    rescheduled: list[int] = []
    for entry in document.targets:
        try:
            target_id, moved = await _write_target(
                connection, entry, stored, action(ObjectKind.TARGET, entry.key)
            )
        except InvalidFields as error:
            raise _at(entry.where, error) from None
        target_ids[entry.key] = target_id
        if moved:
            rescheduled.append(target_id)
    if len(rescheduled) > SPREAD_ABOVE:
        await connection.execute(queries["spread_first_slots"], rescheduled)
    for channel_entry in document.channels:
        try:
            await _write_channel(
                connection,
                channel_entry,
                stored,
                action(ObjectKind.CHANNEL, channel_entry.key),
                [target_ids[key] for key in channel_entry.target_keys],
            )
        except InvalidFields as error:
            raise _at(channel_entry.where, error) from None
    for window_entry in document.maintenance_windows:
        window_fields = replace(
            window_entry.fields,
            target_id=None
            if window_entry.target_key is None
            else target_ids[window_entry.target_key],
        )
        try:
            await _write_window(
                connection,
                window_fields,
                stored.windows.get(window_entry.key),
                action(ObjectKind.MAINTENANCE_WINDOW, window_entry.key),
            )
        except InvalidFields as error:
            raise _at(window_entry.where, error) from None


async def _write_target(
    connection: asyncpg.Connection, entry: TargetEntry, stored: _Stored, action: Action | None
) -> tuple[int, bool]:
    """The target's id, and whether its next slot was brought forward (a new target, or a
    change to what it probes or how often: ``targets.update_target``)."""
    if action is Action.CREATE:
        return (await targets.create_target(connection, entry.fields)).id, True
    row = stored.targets[entry.key]
    if action is not Action.UPDATE:
        return row.id, False
    given = {f.name: getattr(entry.fields, f.name) for f in fields(entry.fields)}
    # The document states every option, write-only ones (headers, body) included: what it
    # leaves out goes, even where the URL moves to another host.
    stated = {**dict.fromkeys(row.options), **(entry.fields.options or {})}
    updated = await targets.update_target(connection, row.id, given, stated)
    return row.id, updated is not None and updated.next_run_at != row.next_run_at


async def _write_channel(
    connection: asyncpg.Connection,
    entry: ChannelEntry,
    stored: _Stored,
    action: Action | None,
    target_ids: list[int],
) -> None:
    given = replace(entry.fields, target_ids=target_ids)
    if action is Action.CREATE:
        await channels.create_channel(connection, given)
    elif action is Action.UPDATE:
        await channels.update_channel(connection, stored.channels[entry.key].id, lambda _: given)


async def _write_window(
    connection: asyncpg.Connection,
    given: maintenance.MaintenanceFields,
    row: maintenance.MaintenanceRow | None,
    action: Action | None,
) -> None:
    if action is Action.CREATE:
        await maintenance.create_window(connection, given)
    elif action is Action.UPDATE and row is not None:
        await maintenance.update_window(connection, row.id, given)
