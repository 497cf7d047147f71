"""Notification channels: their settings, validated before anything is written, and their rows.

The secret fields (the webhook's signing secret, the Slack URL, the SMTP password) are stored
but never returned: ``public_config`` leaves them out and ``has_secret`` says one is set.
The statements are named in ``uptime_core/sql/channels.sql``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
import httpx

from uptime_core.enums import ChannelKind
from uptime_core.keys import check_key, unique_key
from uptime_core.paging import page
from uptime_core.runtime.db import acquired
from uptime_core.sql import queries
from uptime_core.validation import FieldError, InvalidFields

MAX_NAME_LENGTH = 200
MAX_RECIPIENTS = 50
MIN_REMINDER_SECONDS = 60
# The fields of each kind's config that are written but never read back through the API.
SECRET_FIELDS: dict[ChannelKind, tuple[str, ...]] = {
    ChannelKind.WEBHOOK: ("secret",),
    ChannelKind.SLACK: ("url",),
    ChannelKind.EMAIL: ("password",),
}
SMTP_SECURITY = ("starttls", "tls", "none")
_EMAIL = re.compile(r"[^@\s<>]+@[^@\s<>]+")


# -- channel settings ------------------------------------------------------------------------


def _http_url(value: Any, field: str, problems: list[FieldError]) -> str | None:
    if not isinstance(value, str) or not value:
        problems.append(FieldError(field, "is required"))
        return None
    try:
        url = httpx.URL(value)
    except httpx.InvalidURL:
        # Not echoed: the URL may be a secret (Slack's is).
        problems.append(FieldError(field, "is not a URL"))
        return None
    if url.scheme not in ("http", "https") or not url.host:
        problems.append(FieldError(field, "must be an http:// or https:// URL with a host"))
        return None
    if url.userinfo:
        problems.append(FieldError(field, "must not hold a user name or password"))
        return None
    return value


def url_origin(url: str) -> str:
    """``scheme://host[:port]`` of a URL: all of it that may be shown (the rest may be a
    secret). An unparsable URL shows as ``(invalid URL)``."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError):
        return "(invalid URL)"
    host = f"[{parsed.host}]" if ":" in parsed.host else parsed.host
    port = f":{parsed.port}" if parsed.port is not None else ""
    return f"{parsed.scheme}://{host}{port}"


def _address(value: Any, field: str, problems: list[FieldError]) -> str | None:
    if not isinstance(value, str) or not _EMAIL.fullmatch(value):
        problems.append(FieldError(field, "must be an email address like ops@example.com"))
        return None
    return value


def validate_channel_config(
    kind: ChannelKind, given: Mapping[str, Any], previous: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The config to store for ``kind``: ``given`` (fields as the API spells them under
    ``webhook``/``slack``/``email``) checked, with secrets left out of ``given`` kept from
    ``previous``. Raises ``InvalidFields`` naming every bad field."""
    problems: list[FieldError] = []
    prefix = kind.value
    kept = {k: v for k, v in (previous or {}).items() if k in SECRET_FIELDS[kind]}
    merged = {**kept, **{k: v for k, v in given.items() if v is not None}}
    config: dict[str, Any] = {}
    if kind is ChannelKind.WEBHOOK:
        config["url"] = _http_url(merged.get("url"), f"{prefix}.url", problems)
        secret = merged.get("secret")
        if secret is not None and (not isinstance(secret, str) or len(secret) < 16):
            problems.append(FieldError(f"{prefix}.secret", "must be at least 16 characters"))
        if secret:
            config["secret"] = secret
    elif kind is ChannelKind.SLACK:
        config["url"] = _http_url(merged.get("url"), f"{prefix}.url", problems)
    else:
        host = merged.get("host")
        if not isinstance(host, str) or not host.strip():
            problems.append(FieldError(f"{prefix}.host", "is required"))
        config["host"] = host
        security = merged.get("security", "starttls")
        if security not in SMTP_SECURITY:
            problems.append(FieldError(f"{prefix}.security", "must be starttls, tls or none"))
        config["security"] = security
        default_port = {"starttls": 587, "tls": 465, "none": 25}.get(str(security), 587)
        port = merged.get("port")
        if port is None:
            port = default_port
        if not isinstance(port, int) or isinstance(port, bool) or not 1 <= port <= 65535:
            problems.append(FieldError(f"{prefix}.port", "must be from 1 to 65535"))
        config["port"] = port
        username, password = merged.get("username"), merged.get("password")
        if (username is None) != (password is None):
            problems.append(FieldError(f"{prefix}.password", "username and password go together"))
        if username is not None:
            config["username"], config["password"] = username, password
        if username is not None and security == "none":
            problems.append(
                FieldError(f"{prefix}.security", "a password is only sent over starttls or tls")
            )
        config["from_address"] = _address(merged.get("from_address"), f"{prefix}.from", problems)
        recipients = merged.get("to_addresses") or []
        if not recipients:
            problems.append(FieldError(f"{prefix}.to", "needs at least one address"))
        elif len(recipients) > MAX_RECIPIENTS:
            problems.append(FieldError(f"{prefix}.to", f"at most {MAX_RECIPIENTS} addresses"))
        config["to_addresses"] = [
            _address(address, f"{prefix}.to[{i}]", problems) for i, address in enumerate(recipients)
        ]
    if problems:
        raise InvalidFields(problems)
    return config


def public_config(kind: ChannelKind, config: Mapping[str, Any]) -> dict[str, Any]:
    """The config without its secrets: what the API may show."""
    return {k: v for k, v in config.items() if k not in SECRET_FIELDS[kind]}


def has_secret(kind: ChannelKind, config: Mapping[str, Any]) -> bool:
    return any(config.get(field) for field in SECRET_FIELDS[kind])


# -- channels as the API manages them ---------------------------------------------------------


@dataclass(frozen=True)
class ChannelRow:
    id: int
    name: str
    key: str
    kind: ChannelKind
    config: dict[str, Any]
    all_targets: bool
    enabled: bool
    reminder_interval_seconds: int | None
    target_ids: list[int]
    created_at: datetime
    updated_at: datetime


def _channel(row: asyncpg.Record) -> ChannelRow:
    return ChannelRow(
        id=row["id"],
        name=row["name"],
        key=row["key"],
        kind=ChannelKind(row["kind"]),
        config=json_object(row["config"]),
        all_targets=row["all_targets"],
        enabled=row["enabled"],
        reminder_interval_seconds=row["reminder_interval_seconds"],
        target_ids=list(row["target_ids"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def json_object(value: Any) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(value) if isinstance(value, str) else dict(value)
    return parsed


@dataclass(frozen=True)
class ChannelFields:
    """A channel's settings as given (config already validated)."""

    name: str
    kind: ChannelKind
    config: dict[str, Any]
    all_targets: bool
    enabled: bool
    reminder_interval_seconds: int | None
    target_ids: list[int]
    key: str | None = None  # None: derived from the name when created (uptime_core/keys.py)


def check_channel_fields(fields: ChannelFields) -> None:
    """Raise ``InvalidFields`` for a bad name, reminder interval or attachment."""
    problems: list[FieldError] = []
    check_key(fields.key, problems)
    if not fields.name.strip() or len(fields.name) > MAX_NAME_LENGTH:
        problems.append(FieldError("name", f"must be 1 to {MAX_NAME_LENGTH} characters"))
    reminder = fields.reminder_interval_seconds
    if reminder is not None and reminder < MIN_REMINDER_SECONDS:
        problems.append(
            FieldError("reminderIntervalSeconds", f"must be at least {MIN_REMINDER_SECONDS}")
        )
    if fields.all_targets and fields.target_ids:
        problems.append(FieldError("targetIds", "must be empty when allTargets is true"))
    if problems:
        raise InvalidFields(problems)


async def _missing_targets(connection: asyncpg.Connection, target_ids: list[int]) -> None:
    found = await connection.fetchval(queries["count_targets"], target_ids)
    if found != len(set(target_ids)):
        raise InvalidFields([FieldError("targetIds", "names a target that does not exist")])


async def create_channel(
    pool: asyncpg.Connection | asyncpg.Pool, fields: ChannelFields
) -> ChannelRow:
    """Validate and insert; without a key, one is derived from the name. A key already used
    is an ``InvalidFields`` naming ``key``."""
    check_channel_fields(fields)
    with unique_key("notification_channel", "channel"):
        return await _create(pool, fields)


async def _create(pool: asyncpg.Connection | asyncpg.Pool, fields: ChannelFields) -> ChannelRow:
    async with acquired(pool) as connection, connection.transaction():
        await _missing_targets(connection, fields.target_ids)
        channel_id = await connection.fetchval(
            queries["insert_channel"],
            fields.name,
            fields.kind.value,
            json.dumps(fields.config),
            fields.all_targets,
            fields.enabled,
            fields.reminder_interval_seconds,
            fields.key,
        )
        await _attach(connection, channel_id, fields.target_ids)
        row = await channel_by_id(connection, channel_id)
    assert row is not None
    return row


async def update_channel(
    pool: asyncpg.Connection | asyncpg.Pool, channel_id: int, change: Any
) -> ChannelRow | None:
    """Replace a channel's settings with ``change(current) -> ChannelFields`` (which may raise
    ``InvalidFields``), in one transaction holding the row; None if there is none. A key
    already used is an ``InvalidFields`` naming ``key``."""
    with unique_key("notification_channel", "channel"):
        return await _update(pool, channel_id, change)


async def _update(
    pool: asyncpg.Connection | asyncpg.Pool, channel_id: int, change: Any
) -> ChannelRow | None:
    async with acquired(pool) as connection, connection.transaction():
        current = await channel_by_id(connection, channel_id, lock=True)
        if current is None:
            return None
        fields: ChannelFields = change(current)
        check_channel_fields(fields)
        await _missing_targets(connection, fields.target_ids)
        await connection.execute(
            queries["update_channel"],
            channel_id,
            fields.name,
            fields.kind.value,
            json.dumps(fields.config),
            fields.all_targets,
            fields.enabled,
            fields.reminder_interval_seconds,
            fields.key,
        )
        await connection.execute(queries["detach_all_targets"], channel_id)
        await _attach(connection, channel_id, fields.target_ids)
        return await channel_by_id(connection, channel_id)


async def _attach(connection: asyncpg.Connection, channel_id: int, target_ids: list[int]) -> None:
    await connection.execute(queries["attach_targets"], channel_id, target_ids)


async def delete_channel(pool: asyncpg.Connection | asyncpg.Pool, channel_id: int) -> bool:
    """Delete a channel with its deliveries; False if there was none."""
    status = await pool.execute(queries["delete_channel"], channel_id)
    return bool(status == "DELETE 1")


async def channel_by_id(
    connection: asyncpg.Connection | asyncpg.Pool, channel_id: int, *, lock: bool = False
) -> ChannelRow | None:
    statement = queries["channel_by_id_for_update" if lock else "channel_by_id"]
    row = await connection.fetchrow(statement, channel_id)
    return None if row is None else _channel(row)


async def list_channels(
    pool: asyncpg.Connection | asyncpg.Pool, first: int, after_id: int | None
) -> tuple[list[ChannelRow], bool]:
    """A keyset page of channels in creation order."""
    rows = await pool.fetch(queries["list_channels"], first + 1, after_id)
    return page(rows, first, lambda **values: _channel(values))
