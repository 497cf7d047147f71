"""Maintenance windows in SQL: is an instant inside one, and which parts of a range are.

A window belongs to one target or, with ``target_id`` NULL, to every target. ONCE windows are
``[starts_at, ends_at)``. WEEKLY windows start on each ISO weekday in ``weekdays`` at
``local_start`` in ``time_zone`` (an IANA name, so daylight saving time moves the UTC start)
and last ``duration_seconds`` (at most a week, so a window may run past midnight or into the
next week). Both functions return SQL fragments to embed in a larger statement: the record
statement marks results with ``in_maintenance_sql`` and statistics clip with
``maintenance_ranges_sql``, so the two can never disagree on what a window covers. The static
statements of the windows' rows are named in ``uptime_core/sql/maintenance.sql``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time
from typing import Any
from zoneinfo import available_timezones

import asyncpg

from uptime_core.enums import MaintenanceKind
from uptime_core.keys import check_key, unique_key
from uptime_core.paging import page
from uptime_core.runtime.db import acquired
from uptime_core.sql import queries
from uptime_core.validation import FieldError, InvalidFields

# The longest weekly window, and so how many local days back a window covering an instant can
# have started.
MAX_WEEKLY_SECONDS = 7 * 24 * 3600


def _applies(window: str, target_id: str) -> str:
    return f"({window}.target_id IS NULL OR {window}.target_id = {target_id})"


def _weekly_start(window: str, day: str) -> str:
    # A local date plus the local time, read in the window's zone: the UTC instant it starts.
    return f"(({day})::date + {window}.local_start) AT TIME ZONE {window}.time_zone"


def covers_sql(window: str, at: str) -> str:
    """A boolean SQL expression: the window row ``window`` covers the instant ``at``."""
    start = _weekly_start(window, f"(({at}) AT TIME ZONE {window}.time_zone)::date - back.days")
    return f"""CASE {window}.kind
          WHEN 'once' THEN ({at}) >= {window}.starts_at AND ({at}) < {window}.ends_at
          ELSE EXISTS (
              SELECT 1
              FROM generate_series(0, 7) AS back(days)
              WHERE extract(isodow FROM (({at}) AT TIME ZONE {window}.time_zone)::date
                                        - back.days)::smallint = ANY ({window}.weekdays)
                AND ({at}) >= {start}
                AND ({at}) < {start} + make_interval(secs => {window}.duration_seconds))
      END"""


def in_maintenance_sql(target_id: str, at: str, windows: str = "maintenance_window") -> str:
    """A boolean SQL expression: the instant ``at`` lies in a window of ``target_id``.
    ``windows`` is where the windows are read: the table, or a relation of some of its rows
    (the record statement reads the windows of its batch's targets once, not once a row)."""
    return f"""EXISTS (
    SELECT 1
    FROM {windows} AS m
    WHERE {_applies("m", target_id)}
      AND {covers_sql("m", at)})"""


def maintenance_ranges_sql(target_id: str, start: str, end: str) -> str:
    """A ``tstzmultirange`` SQL expression: the parts of [start, end) that lie in windows of
    ``target_id`` (empty when none)."""
    window = f"tstzrange(({start}), ({end}))"
    weekly_start = _weekly_start("m", "day")
    return f"""(
    SELECT coalesce(range_agg(part), '{{}}'::tstzmultirange)
    FROM (
        SELECT tstzrange(m.starts_at, m.ends_at) * {window} AS part
        FROM maintenance_window AS m
        WHERE m.kind = 'once' AND {_applies("m", target_id)}
        UNION ALL
        SELECT tstzrange({weekly_start},
                         {weekly_start} + make_interval(secs => m.duration_seconds)) * {window}
        FROM maintenance_window AS m
        CROSS JOIN LATERAL generate_series(
            (({start}) AT TIME ZONE m.time_zone)::date - 7,
            (({end}) AT TIME ZONE m.time_zone)::date,
            interval '1 day') AS day
        WHERE m.kind = 'weekly' AND {_applies("m", target_id)}
          AND extract(isodow FROM day)::smallint = ANY (m.weekdays)
    ) AS parts
    WHERE NOT isempty(part))"""


def is_time_zone(name: str) -> bool:
    """True for an IANA time zone name this machine knows (``Europe/Paris``, ``UTC``)."""
    return name in _zones()


_ZONES: set[str] = set()


def _zones() -> set[str]:
    if not _ZONES:
        _ZONES.update(available_timezones())
    return _ZONES


# -- windows as the API manages them ----------------------------------------------------------


@dataclass(frozen=True)
class MaintenanceFields:
    """A window's settings as given: ONCE needs ``starts_at`` and ``ends_at``; WEEKLY needs
    ``weekdays`` (ISO, 1 = Monday), ``local_start``, ``duration_seconds`` and ``time_zone``."""

    name: str
    target_id: int | None
    kind: MaintenanceKind
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    weekdays: list[int] | None = None
    local_start: time | None = None
    duration_seconds: int | None = None
    time_zone: str | None = None
    key: str | None = None  # None: derived from the name when created (uptime_core/keys.py)


@dataclass(frozen=True)
class MaintenanceRow(MaintenanceFields):
    key: str = ""  # always set once stored
    id: int = 0
    created_at: datetime | None = None
    active: bool = False  # the window covers this instant (for its target, or any target)


MAX_NAME_LENGTH = 200


def check_maintenance_fields(fields: MaintenanceFields) -> MaintenanceFields:
    """The fields in canonical form (only the kind's own set); raises ``InvalidFields``
    naming every bad field."""
    problems: list[FieldError] = []
    check_key(fields.key, problems)
    if not fields.name.strip() or len(fields.name) > MAX_NAME_LENGTH:
        problems.append(FieldError("name", f"must be 1 to {MAX_NAME_LENGTH} characters"))
    if fields.kind is MaintenanceKind.ONCE:
        if fields.starts_at is None:
            problems.append(FieldError("startsAt", "is required for a one-off window"))
        if fields.ends_at is None:
            problems.append(FieldError("endsAt", "is required for a one-off window"))
        # Decision: an absolute time needs its offset (no guessing a zone for a naive one),
        # and only two aware times are compared (a naive one against an aware one cannot be).
        naive = False
        for name, value in (("startsAt", fields.starts_at), ("endsAt", fields.ends_at)):
            if value is not None and value.utcoffset() is None:
                problems.append(FieldError(name, "needs a UTC offset (e.g. 2026-12-01T22:00Z)"))
                naive = True
        start, end = fields.starts_at, fields.ends_at
        if not naive and start is not None and end is not None and end <= start:
            problems.append(FieldError("endsAt", "must be after startsAt"))
        if problems:
            raise InvalidFields(problems)
        return MaintenanceFields(
            fields.name,
            fields.target_id,
            fields.kind,
            fields.starts_at,
            fields.ends_at,
            key=fields.key,
        )
    days = sorted(set(fields.weekdays or []))
    if not days:
        problems.append(FieldError("weekdays", "needs at least one day"))
    if fields.local_start is None:
        problems.append(FieldError("localStart", "is required for a weekly window"))
    duration = fields.duration_seconds
    if duration is None or not 1 <= duration <= MAX_WEEKLY_SECONDS:
        problems.append(
            FieldError("durationSeconds", f"must be from 1 to {MAX_WEEKLY_SECONDS} (a week)")
        )
    if fields.time_zone is None or not is_time_zone(fields.time_zone):
        problems.append(
            FieldError("timeZone", "must be an IANA time zone name such as Europe/Paris or UTC")
        )
    if problems:
        raise InvalidFields(problems)
    return MaintenanceFields(
        fields.name,
        fields.target_id,
        fields.kind,
        weekdays=days,
        local_start=fields.local_start,
        duration_seconds=duration,
        time_zone=fields.time_zone,
        key=fields.key,
    )


# The settings columns, in the order of ``_values`` and of maintenance.sql's insert_window and
# update_window (tests/core/test_sql_files.py checks). The reads stay composed here: "active"
# is ``covers_sql``, the very test the record statement and the statistics embed.
_COLUMNS = (
    "name, key, target_id, kind, starts_at, ends_at, weekdays, local_start, duration_seconds, "
    "time_zone"
)
_SELECT = f"""
SELECT m.id, m.created_at, m.{_COLUMNS.replace(", ", ", m.")},
       {covers_sql("m", "now()")} AS active
FROM maintenance_window AS m
"""


def _row(record: asyncpg.Record) -> MaintenanceRow:
    values = dict(record)
    values["kind"] = MaintenanceKind(values["kind"])
    values["weekdays"] = list(values["weekdays"]) if values["weekdays"] else None
    return MaintenanceRow(**values)


async def _check_references(connection: asyncpg.Connection, fields: MaintenanceFields) -> None:
    """The target exists, and the database knows the time zone too (the record statement
    reads windows in every batch: a zone it cannot read would stop all recording)."""
    if fields.target_id is not None and not await connection.fetchval(
        queries["target_exists"], fields.target_id
    ):
        raise InvalidFields([FieldError("targetId", "no target has this id")])
    if fields.time_zone is not None and not await connection.fetchval(
        queries["time_zone_exists"], fields.time_zone
    ):
        raise InvalidFields([FieldError("timeZone", "is not a time zone this database knows")])


def _values(fields: MaintenanceFields) -> list[Any]:
    """The parameters of insert_window (and update_window after the id): ``_COLUMNS``."""
    return [
        fields.name,
        fields.key,
        fields.target_id,
        fields.kind.value,
        fields.starts_at,
        fields.ends_at,
        fields.weekdays,
        fields.local_start,
        fields.duration_seconds,
        fields.time_zone,
    ]


async def create_window(
    pool: asyncpg.Connection | asyncpg.Pool, fields: MaintenanceFields
) -> MaintenanceRow:
    """Validate and insert; without a key, one is derived from the name. A key already used
    is an ``InvalidFields`` naming ``key``."""
    fields = check_maintenance_fields(fields)
    async with acquired(pool) as connection:
        await _check_references(connection, fields)
        with unique_key("maintenance_window", "maintenance window"):
            window_id = await connection.fetchval(queries["insert_window"], *_values(fields))
        row = await window_by_id(connection, window_id)
    assert row is not None
    return row


async def update_window(
    pool: asyncpg.Connection | asyncpg.Pool, window_id: int, fields: MaintenanceFields
) -> MaintenanceRow | None:
    fields = check_maintenance_fields(fields)
    async with acquired(pool) as connection:
        await _check_references(connection, fields)
        with unique_key("maintenance_window", "maintenance window"):
            status = await connection.execute(queries["update_window"], window_id, *_values(fields))
        if status != "UPDATE 1":
            return None
        return await window_by_id(connection, window_id)


async def delete_window(pool: asyncpg.Connection | asyncpg.Pool, window_id: int) -> bool:
    status = await pool.execute(queries["delete_window"], window_id)
    return bool(status == "DELETE 1")


async def window_by_id(
    connection: asyncpg.Connection | asyncpg.Pool, window_id: int
) -> MaintenanceRow | None:
    record = await connection.fetchrow(_SELECT + "WHERE m.id = $1", window_id)
    return None if record is None else _row(record)


async def list_windows(
    pool: asyncpg.Connection | asyncpg.Pool,
    first: int,
    after_id: int | None,
    target_id: int | None = None,
) -> tuple[list[MaintenanceRow], bool]:
    """A keyset page of windows in creation order; with ``target_id``, those that apply to it
    (its own and the ones for all targets)."""
    records = await pool.fetch(
        _SELECT + "WHERE ($2::bigint IS NULL OR m.id > $2) "
        "AND ($3::bigint IS NULL OR m.target_id IS NULL OR m.target_id = $3) "
        "ORDER BY m.id LIMIT $1",
        first + 1,
        after_id,
        target_id,
    )
    return page(records, first, lambda **values: _row(values))
