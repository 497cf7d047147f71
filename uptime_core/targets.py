"""Targets as the API manages them: validated writes and the reads the API pages through.

Every write validates with ``probes.validate_target_settings`` (plus the fields only the API
has: name and thresholds) before touching the database, so bad input changes nothing. The SQL
is one named statement per operation in ``uptime_core/sql/targets.sql``; GraphQL types live
in ``uptime_graphql``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import astuple, dataclass, replace
from datetime import datetime
from typing import Any

import asyncpg

from uptime_core.keys import check_key, unique_key
from uptime_core.paging import page
from uptime_core.probes import validate_target_settings
from uptime_core.probes.validation import HIDDEN_PASSWORD, split_url
from uptime_core.sql import queries
from uptime_core.validation import FieldError, InvalidFields

MAX_NAME_LENGTH = 200
MAX_INTERVAL_SECONDS = 24 * 3600
MAX_THRESHOLD = 100


@dataclass(frozen=True)
class TargetRow:
    """A target as stored."""

    id: int
    name: str
    key: str
    kind: str
    url: str | None
    host: str | None
    port: int | None
    interval_seconds: int
    timeout_seconds: float
    options: dict[str, Any]
    failure_threshold: int
    recovery_threshold: int
    retry_interval_seconds: int | None  # None: the default (effective_retry_interval_seconds)
    public: bool  # its badges are served (/badge/{key}/...)
    paused: bool
    status: str
    status_changed_at: datetime | None
    next_run_at: datetime | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class TargetFields:
    """Everything a target is made of that a person chooses."""

    name: str
    kind: str
    url: str | None = None
    host: str | None = None
    port: int | None = None
    interval_seconds: int = 60
    timeout_seconds: float = 10.0
    failure_threshold: int = 2
    recovery_threshold: int = 2
    options: dict[str, Any] | None = None
    key: str | None = None  # None: derived from the name when created (uptime_core/keys.py)
    # The interval of the checks that confirm a change; None: the default (see below).
    retry_interval_seconds: int | None = None
    # Whether its badges are served without a token (/badge/{key}/...).
    public: bool = False


DEFAULT_RETRY_INTERVAL_SECONDS = 10


def effective_retry_interval_seconds(
    interval_seconds: int, retry_interval_seconds: int | None
) -> int:
    """The retry interval in force: the one set, or by default the smaller of the interval
    and 10 s; never longer than the interval (as the record statement computes it,
    ``uptime_core.scheduling.record.RETRY_SECONDS``)."""
    chosen = (
        DEFAULT_RETRY_INTERVAL_SECONDS if retry_interval_seconds is None else retry_interval_seconds
    )
    return min(chosen, interval_seconds)


def validate(fields: TargetFields) -> TargetFields:
    """The fields in canonical form, or ``InvalidFields`` naming every bad field."""
    errors: list[FieldError] = []
    check_key(fields.key, errors)
    name = fields.name.strip()
    if not name:
        errors.append(FieldError("name", "must not be empty"))
    elif len(name) > MAX_NAME_LENGTH:
        errors.append(FieldError("name", f"must be at most {MAX_NAME_LENGTH} characters"))
    if fields.interval_seconds > MAX_INTERVAL_SECONDS:
        errors.append(FieldError("intervalSeconds", f"must be at most {MAX_INTERVAL_SECONDS}"))
    retry = fields.retry_interval_seconds
    if retry is not None and not 1 <= retry <= max(1, fields.interval_seconds):
        errors.append(
            FieldError(
                "retryIntervalSeconds",
                f"must be from 1 to the interval ({fields.interval_seconds}), or null for the "
                "default (the smaller of the interval and 10)",
            )
        )
    for field, value in (
        ("failureThreshold", fields.failure_threshold),
        ("recoveryThreshold", fields.recovery_threshold),
    ):
        if not 1 <= value <= MAX_THRESHOLD:
            errors.append(FieldError(field, f"must be from 1 to {MAX_THRESHOLD}"))
    try:
        settings = validate_target_settings(
            kind=fields.kind,
            url=fields.url,
            host=fields.host,
            port=fields.port,
            timeout_seconds=fields.timeout_seconds,
            interval_seconds=fields.interval_seconds,
            options=fields.options or {},
        )
    except InvalidFields as error:
        errors.extend(error.errors)
        raise InvalidFields(errors) from None
    if errors:
        raise InvalidFields(errors)
    return TargetFields(
        name=name,
        kind=settings.kind.value,
        url=settings.url,
        host=settings.host,
        port=settings.port,
        interval_seconds=fields.interval_seconds,
        timeout_seconds=settings.timeout_seconds,
        failure_threshold=fields.failure_threshold,
        recovery_threshold=fields.recovery_threshold,
        options=settings.options,
        key=fields.key,
        retry_interval_seconds=fields.retry_interval_seconds,
        public=fields.public,
    )


def _target(row: asyncpg.Record) -> TargetRow:
    return TargetRow(**dict(row))


async def create_target(
    connection: asyncpg.Connection | asyncpg.Pool, fields: TargetFields
) -> TargetRow:
    """Validate and insert; the first slot is spread within the interval. Without a key, one
    is derived from the name; a key already used is an ``InvalidFields`` naming ``key``."""
    valid = validate(fields)
    with unique_key("target", "target"):
        row = await _insert(connection, valid)
    return _target(row)


async def _insert(connection: asyncpg.Connection | asyncpg.Pool, valid: TargetFields) -> Any:
    row = await connection.fetchrow(
        queries["create_target"],
        valid.name,
        valid.kind,
        valid.url,
        valid.host,
        valid.port,
        valid.interval_seconds,
        valid.timeout_seconds,
        valid.options,
        valid.failure_threshold,
        valid.recovery_threshold,
        valid.key,
        valid.retry_interval_seconds,
        valid.public,
    )
    assert row is not None
    return row


def _same_fields(a: TargetFields, b: TargetFields) -> bool:
    # Options compare as JSON text: in Python 1 == 1.0 == True, in a JSON assertion they differ.
    def key(fields: TargetFields) -> tuple[Any, ...]:
        return (*astuple(replace(fields, options=None)), json.dumps(fields.options, sort_keys=True))

    return key(a) == key(b)


def merge_options(current: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """``current`` options with ``changes`` applied: a key not in ``changes`` keeps its value,
    a key set to None goes back to its default."""
    merged = {**current, **changes}
    return {key: value for key, value in merged.items() if value is not None}


def keep_hidden_password(given: str | None, stored: str | None) -> str | None:
    """The URL to store when ``given`` may be the redacted form the API showed
    (``http://user:***@host/``): with the stored password put back, as long as it still goes
    to the same scheme, host, port and user; otherwise ``given`` as it is (refused later if
    it still hides the password)."""
    if given is None or stored is None:
        return given
    new, old = split_url(given.strip()), split_url(stored)
    if new is None or old is None or new.password != HIDDEN_PASSWORD or old.password is None:
        return given
    same_place = (new.scheme, new.user, new.hostport.lower()) == (
        old.scheme,
        old.user,
        old.hostport.lower(),
    )
    if not same_place:
        raise InvalidFields(
            [
                FieldError(
                    "url",
                    f"hides its password ({HIDDEN_PASSWORD}): type the password again to send "
                    "it to another host or user",
                )
            ]
        )
    return new.with_password(old.password)


def _origin(url: str | None) -> tuple[str, str] | None:
    parts = None if url is None else split_url(url)
    return None if parts is None else (parts.scheme, parts.hostport.lower())


def _refuse_secrets_elsewhere(
    current: TargetRow, valid: TargetFields, option_changes: Mapping[str, Any]
) -> None:
    """Stored header values and the body are write-only: a URL moved to another scheme, host
    or port must not take them along unseen (whoever moves it could read them at the new
    host). Each is kept only when given again (or dropped: an empty header list, a null
    body)."""
    if valid.kind != "http" or current.kind != "http":
        return
    if _origin(valid.url) == _origin(current.url):
        return
    problems = [
        FieldError(f"options.{option}", f"the URL now points at another host: {fix}")
        for option, fix in _SECRET_OPTIONS.items()
        if current.options.get(option) and option not in option_changes
    ]
    if problems:
        raise InvalidFields(problems)


_SECRET_OPTIONS = {
    "headers": "give the headers again (their values are not shown), or an empty list to drop them",
    "body": "give the body again (it is not shown), or null to drop it",
}


async def update_target(
    connection: asyncpg.Connection,
    target_id: int,
    changes: Mapping[str, Any],
    option_changes: Mapping[str, Any] | None = None,
) -> TargetRow | None:
    """Apply ``changes`` (TargetFields names; absent means unchanged) and ``option_changes``
    (stored option keys, merged into the stored options as ``merge_options`` does; a new kind
    starts from no options), validating the result as a whole; None if there is no such
    target. A URL whose password is the redacted ``***`` keeps the stored password. A change
    to nothing writes nothing (``updated_at`` stays). A key already used is an
    ``InvalidFields`` naming ``key``."""
    with unique_key("target", "target"):
        return await _update(connection, target_id, changes, option_changes)


async def _update(
    connection: asyncpg.Connection,
    target_id: int,
    changes: Mapping[str, Any],
    option_changes: Mapping[str, Any] | None,
) -> TargetRow | None:
    async with connection.transaction():
        row = await connection.fetchrow(queries["target_for_update"], target_id)
        if row is None:
            return None
        current = _target(row)
        merged = {
            name: changes.get(name, getattr(current, name))
            for name in TargetFields.__dataclass_fields__
        }
        if "options" not in changes:
            base = current.options if merged["kind"] == current.kind else {}
            merged["options"] = merge_options(base, option_changes or {})
        if "url" in changes:
            merged["url"] = keep_hidden_password(changes["url"], current.url)
        valid = validate(TargetFields(**merged))
        _refuse_secrets_elsewhere(current, valid, option_changes or {})
        stored = TargetFields(
            **{name: getattr(current, name) for name in TargetFields.__dataclass_fields__}
        )
        if _same_fields(valid, stored):
            return current
        updated = await connection.fetchrow(
            queries["update_target"],
            target_id,
            valid.name,
            valid.kind,
            valid.url,
            valid.host,
            valid.port,
            valid.interval_seconds,
            valid.timeout_seconds,
            valid.options,
            valid.failure_threshold,
            valid.recovery_threshold,
            valid.key,
            valid.retry_interval_seconds,
            valid.public,
        )
        assert updated is not None
        return _target(updated)


async def delete_target(connection: asyncpg.Connection | asyncpg.Pool, target_id: int) -> bool:
    """Delete a target with its results, rollups and incidents; False if there was none."""
    if isinstance(connection, asyncpg.Pool):
        async with connection.acquire() as acquired:
            return await delete_target(acquired, target_id)
    async with connection.transaction():
        # Locked first, in a statement of its own: see delete_target in targets.sql.
        if await connection.fetchrow(queries["target_for_update"], target_id) is None:
            return False
        return bool(await connection.fetchval(queries["delete_target"], target_id))


async def _update_returning(
    connection: asyncpg.Connection | asyncpg.Pool, name: str, target_id: int
) -> TargetRow | None:
    """Run the named UPDATE ... RETURNING of one target; None if there is no such target."""
    row = await connection.fetchrow(queries[name], target_id)
    return None if row is None else _target(row)


async def pause_target(
    connection: asyncpg.Connection | asyncpg.Pool, target_id: int
) -> TargetRow | None:
    """Stop scheduling; a check in flight is fenced out when it finishes."""
    return await _update_returning(connection, "pause_target", target_id)


async def resume_target(
    connection: asyncpg.Connection | asyncpg.Pool, target_id: int
) -> TargetRow | None:
    """Schedule again from now, as if new (state unknown until checked)."""
    return await _update_returning(connection, "resume_target", target_id)


async def check_target_now(
    connection: asyncpg.Connection | asyncpg.Pool, target_id: int
) -> TargetRow | None:
    """Make the target due at once, unless it is paused or a check is running right now."""
    return await _update_returning(connection, "check_target_now", target_id)


async def targets_by_id(
    connection: asyncpg.Connection | asyncpg.Pool, ids: list[int]
) -> dict[int, TargetRow]:
    rows = await connection.fetch(queries["targets_by_id"], ids)
    return {row["id"]: _target(row) for row in rows}


async def target_by_key(
    connection: asyncpg.Connection | asyncpg.Pool, key: str
) -> TargetRow | None:
    row = await connection.fetchrow(queries["target_by_key"], key)
    return None if row is None else _target(row)


async def list_targets(
    connection: asyncpg.Connection | asyncpg.Pool,
    *,
    first: int,
    after_id: int | None,
    status: str | None,
    search: str | None,
) -> tuple[list[TargetRow], bool]:
    """A page of targets in id order (keyset: those after ``after_id``), and whether more
    follow. ``search`` matches names case-insensitively."""
    pattern = None
    if search:
        escaped = search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = f"%{escaped}%"
    rows = await connection.fetch(
        queries["list_targets"],
        after_id,
        status,
        pattern,
        first + 1,
    )
    return page(rows, first, TargetRow)
