"""Alerting: notification channels, the deliveries outbox, and what a message says.

The record statement (``scheduling.RECORD_RESULTS``) writes deliveries in the statement that
opens or resolves an incident; the worker's deliverers (``uptime_worker/deliver.py``) claim
them here with ``FOR UPDATE SKIP LOCKED`` and a lease, send them (``alerting_send.py``) and
record each attempt. The idempotency key is written with the delivery and never changes, so
every attempt of one message carries the same key. docs/alerting.md has the semantics.

Channel settings are validated here, before anything is written; the secret fields (the
webhook's signing secret, the Slack URL, the SMTP password) are stored but never returned.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
import httpx

from uptime_core.models import ChannelKind
from uptime_core.probes import FieldError, TargetSettingsError

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
    ``previous``. Raises ``TargetSettingsError`` naming every bad field."""
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
        raise TargetSettingsError(problems)
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
    kind: ChannelKind
    config: dict[str, Any]
    all_targets: bool
    enabled: bool
    reminder_interval_seconds: int | None
    target_ids: list[int]
    created_at: datetime
    updated_at: datetime


CHANNEL_COLUMNS = """
    c.id, c.name, c.kind, c.config, c.all_targets, c.enabled, c.reminder_interval_seconds,
    c.created_at, c.updated_at,
    coalesce((SELECT array_agg(ct.target_id ORDER BY ct.target_id) FROM channel_target AS ct
              WHERE ct.channel_id = c.id), '{}') AS target_ids
"""


def _channel(row: asyncpg.Record) -> ChannelRow:
    return ChannelRow(
        id=row["id"],
        name=row["name"],
        kind=ChannelKind(row["kind"]),
        config=_json(row["config"]),
        all_targets=row["all_targets"],
        enabled=row["enabled"],
        reminder_interval_seconds=row["reminder_interval_seconds"],
        target_ids=list(row["target_ids"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _json(value: Any) -> dict[str, Any]:
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


def check_channel_fields(fields: ChannelFields) -> None:
    """Raise ``TargetSettingsError`` for a bad name, reminder interval or attachment."""
    problems = []
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
        raise TargetSettingsError(problems)


async def _missing_targets(connection: asyncpg.Connection, target_ids: list[int]) -> None:
    found = await connection.fetchval(
        "SELECT count(*) FROM target WHERE id = ANY($1::bigint[])", target_ids
    )
    if found != len(set(target_ids)):
        raise TargetSettingsError([FieldError("targetIds", "names a target that does not exist")])


async def create_channel(pool: asyncpg.Pool, fields: ChannelFields) -> ChannelRow:
    check_channel_fields(fields)
    async with pool.acquire() as connection, connection.transaction():
        await _missing_targets(connection, fields.target_ids)
        channel_id = await connection.fetchval(
            """
            INSERT INTO notification_channel (name, kind, config, all_targets, enabled,
                                              reminder_interval_seconds)
            VALUES ($1, $2, $3::text::jsonb, $4, $5, $6) RETURNING id
            """,
            fields.name,
            fields.kind.value,
            json.dumps(fields.config),
            fields.all_targets,
            fields.enabled,
            fields.reminder_interval_seconds,
        )
        await _attach(connection, channel_id, fields.target_ids)
        row = await channel_by_id(connection, channel_id)
    assert row is not None
    return row


async def update_channel(pool: asyncpg.Pool, channel_id: int, change: Any) -> ChannelRow | None:
    """Replace a channel's settings with ``change(current) -> ChannelFields`` (which may raise
    ``TargetSettingsError``), in one transaction holding the row; None if there is none."""
    async with pool.acquire() as connection, connection.transaction():
        current = await channel_by_id(connection, channel_id, lock=True)
        if current is None:
            return None
        fields: ChannelFields = change(current)
        check_channel_fields(fields)
        await _missing_targets(connection, fields.target_ids)
        await connection.execute(
            """
            UPDATE notification_channel
            SET name = $2, kind = $3, config = $4::text::jsonb, all_targets = $5, enabled = $6,
                reminder_interval_seconds = $7, updated_at = now()
            WHERE id = $1
            """,
            channel_id,
            fields.name,
            fields.kind.value,
            json.dumps(fields.config),
            fields.all_targets,
            fields.enabled,
            fields.reminder_interval_seconds,
        )
        await connection.execute("DELETE FROM channel_target WHERE channel_id = $1", channel_id)
        await _attach(connection, channel_id, fields.target_ids)
        return await channel_by_id(connection, channel_id)


async def _attach(connection: asyncpg.Connection, channel_id: int, target_ids: list[int]) -> None:
    await connection.execute(
        "INSERT INTO channel_target (channel_id, target_id) "
        "SELECT $1, unnest($2::bigint[]) ON CONFLICT DO NOTHING",
        channel_id,
        target_ids,
    )


async def delete_channel(pool: asyncpg.Pool, channel_id: int) -> bool:
    """Delete a channel with its deliveries; False if there was none."""
    status = await pool.execute("DELETE FROM notification_channel WHERE id = $1", channel_id)
    return bool(status == "DELETE 1")


async def channel_by_id(
    connection: asyncpg.Connection | asyncpg.Pool, channel_id: int, *, lock: bool = False
) -> ChannelRow | None:
    row = await connection.fetchrow(
        f"SELECT {CHANNEL_COLUMNS} FROM notification_channel AS c WHERE c.id = $1"
        + (" FOR UPDATE" if lock else ""),
        channel_id,
    )
    return None if row is None else _channel(row)


async def list_channels(pool: asyncpg.Pool, first: int, after_id: int | None) -> list[ChannelRow]:
    rows = await pool.fetch(
        f"SELECT {CHANNEL_COLUMNS} FROM notification_channel AS c "
        "WHERE $2::bigint IS NULL OR c.id > $2 ORDER BY c.id LIMIT $1",
        first,
        after_id,
    )
    return [_channel(row) for row in rows]


# -- deliveries as the API shows them ---------------------------------------------------------


@dataclass(frozen=True)
class DeliveryRow:
    id: int
    channel_id: int
    incident_id: int | None
    event: str
    sequence: int
    idempotency_key: str
    state: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None


DELIVERY_COLUMNS = """
    id, channel_id, incident_id, event, sequence, idempotency_key, state, attempts,
    next_attempt_at, last_error, created_at, sent_at
"""


async def list_deliveries(
    pool: asyncpg.Pool,
    first: int,
    before_id: int | None,
    channel_id: int | None = None,
    state: str | None = None,
) -> list[DeliveryRow]:
    """Newest first."""
    rows = await pool.fetch(
        f"SELECT {DELIVERY_COLUMNS} FROM delivery "
        "WHERE ($2::bigint IS NULL OR id < $2) AND ($3::bigint IS NULL OR channel_id = $3) "
        "AND ($4::text IS NULL OR state = $4) ORDER BY id DESC LIMIT $1",
        first,
        before_id,
        channel_id,
        state,
    )
    return [DeliveryRow(**dict(row)) for row in rows]


async def queue_test_message(pool: asyncpg.Pool, channel_id: int) -> DeliveryRow | None:
    """Queue a test message to a channel (the deliverers send it like any other); None if
    there is no such channel."""
    row = await pool.fetchrow(
        f"""
        INSERT INTO delivery (channel_id, event, idempotency_key, payload)
        SELECT id, 'test', $2, jsonb_build_object('event', 'test', 'channel', name)
        FROM notification_channel WHERE id = $1
        RETURNING {DELIVERY_COLUMNS}
        """,
        channel_id,
        f"uptime-test-{uuid.uuid4()}",
    )
    return None if row is None else DeliveryRow(**dict(row))


# -- the deliverers' statements ---------------------------------------------------------------

# Due, unleased, pending deliveries, oldest first, leased in one statement (as targets are
# claimed: a MATERIALIZED CTE so the locking subquery runs once). A message waits while an
# earlier one of the same incident to the same channel is still pending, so a "resolved"
# never overtakes its "down" that is waiting to be retried.
CLAIM_DUE_DELIVERIES = """
WITH due AS MATERIALIZED (
    SELECT id
    FROM delivery AS d
    WHERE state = 'pending'
      AND next_attempt_at <= now()
      AND (lease_expires_at IS NULL OR lease_expires_at < now())
      AND NOT EXISTS (SELECT 1 FROM delivery AS earlier
                      WHERE earlier.incident_id = d.incident_id
                        AND earlier.channel_id = d.channel_id
                        AND earlier.id < d.id AND earlier.state = 'pending')
    ORDER BY next_attempt_at
    LIMIT $2
    FOR UPDATE SKIP LOCKED
)
UPDATE delivery AS d
SET lease_owner = $1, lease_expires_at = now() + make_interval(secs => $3)
FROM due, notification_channel AS c
WHERE d.id = due.id AND c.id = d.channel_id
RETURNING d.id, d.event, d.idempotency_key, d.payload, d.attempts, c.id AS channel_id,
          c.name AS channel_name, c.kind, c.config,
          extract(epoch FROM d.created_at + make_interval(secs => $4) - now())::float8
              AS seconds_left
"""

# Before each attempt: count it and make the lease cover it; no row if the lease was lost.
BEGIN_ATTEMPT = """
UPDATE delivery
SET attempts = attempts + 1, lease_expires_at = now() + make_interval(secs => $3)
WHERE id = $1 AND lease_owner = $2 AND state = 'pending' AND lease_expires_at > now()
RETURNING attempts
"""

# After a failed attempt: the error, and either the time of the next attempt ($4 seconds on,
# the backoff) with the lease cleared, so the row is claimed again when it is due and holds no
# deliverer while it waits; or, when retrying cannot help ($5) or the next attempt would start
# past the deadline ($6 seconds after the row was written), "failed". None if the lease was
# lost (another worker holds the row now).
ATTEMPT_FAILED = """
UPDATE delivery
SET last_error = $3,
    state = CASE WHEN $5::boolean
                   OR now() + make_interval(secs => $4) > created_at + make_interval(secs => $6)
                 THEN 'failed' ELSE 'pending' END,
    next_attempt_at = CASE WHEN $5::boolean
                             OR now() + make_interval(secs => $4)
                                > created_at + make_interval(secs => $6)
                           THEN next_attempt_at ELSE now() + make_interval(secs => $4) END,
    lease_owner = NULL,
    lease_expires_at = NULL
WHERE id = $1 AND lease_owner = $2 AND state = 'pending'
RETURNING state
"""

# The message went out: recorded whoever holds the lease now (it did go out).
MARK_SENT = """
UPDATE delivery
SET state = 'sent', sent_at = now(), lease_owner = NULL, lease_expires_at = NULL
WHERE id = $1 AND state = 'pending'
"""

RELEASE_DELIVERIES = """
UPDATE delivery
SET lease_owner = NULL, lease_expires_at = NULL
WHERE id = ANY($2::bigint[]) AND lease_owner = $1 AND state = 'pending'
"""


# Finished deliveries are kept as long as raw results (the hourly maintenance deletes them),
# but only once their incident is resolved (or for test messages, which have none): the rows
# of an open incident are what tell the record statement its "down" was sent and how many
# reminders were, so deleting them would send the "down" again and repeat reminder keys.
PRUNE_DELIVERIES = """
DELETE FROM delivery AS d
WHERE d.state IN ('sent', 'failed', 'suppressed')
  AND d.created_at < now() - make_interval(days => $1)
  AND (d.incident_id IS NULL
       OR EXISTS (SELECT 1 FROM incident AS i
                  WHERE i.id = d.incident_id AND i.resolved_at IS NOT NULL))
"""


async def prune_deliveries(connection: asyncpg.Connection | asyncpg.Pool, days: int) -> int:
    """Delete sent, failed and suppressed deliveries older than ``days`` whose incident is
    resolved (or that have none); how many."""
    status = await connection.execute(PRUNE_DELIVERIES, days)
    return int(status.split()[-1])


@dataclass(frozen=True)
class ClaimedDelivery:
    """One message leased to this worker, with its channel."""

    id: int
    event: str
    idempotency_key: str
    payload: dict[str, Any]
    attempts: int
    channel_id: int
    channel_name: str
    kind: ChannelKind
    config: dict[str, Any]
    seconds_left: float  # until the retry deadline; at least one attempt is made regardless


async def claim_due_deliveries(
    connection: asyncpg.Connection | asyncpg.Pool,
    worker_id: str,
    limit: int,
    lease_seconds: float,
    deadline_seconds: float,
) -> list[ClaimedDelivery]:
    rows = await connection.fetch(
        CLAIM_DUE_DELIVERIES, worker_id, limit, lease_seconds, deadline_seconds
    )
    return [
        ClaimedDelivery(
            id=row["id"],
            event=row["event"],
            idempotency_key=row["idempotency_key"],
            payload=_json(row["payload"]),
            attempts=row["attempts"],
            channel_id=row["channel_id"],
            channel_name=row["channel_name"],
            kind=ChannelKind(row["kind"]),
            config=_json(row["config"]),
            seconds_left=row["seconds_left"],
        )
        for row in rows
    ]


# -- what a message says ----------------------------------------------------------------------


@dataclass(frozen=True)
class Message:
    """A delivery rendered: a one-line title, a few lines of text, and the JSON document."""

    title: str
    text: str
    document: dict[str, Any]


def format_duration(seconds: float) -> str:
    """``3 h 2 min 5 s``, ``45 s``."""
    whole = round(seconds)
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{days} d" if days else "", f"{hours} h" if hours else ""]
    parts += [f"{minutes} min" if minutes else "", f"{secs} s" if secs or not whole else ""]
    return " ".join(p for p in parts if p)


def render(delivery: ClaimedDelivery) -> Message:
    """The message for a delivery, from the snapshot written with it."""
    payload = delivery.payload
    document: dict[str, Any] = {
        "event": delivery.event,
        "idempotency_key": delivery.idempotency_key,
        "channel": {"id": delivery.channel_id, "name": delivery.channel_name},
    }
    if delivery.event == "test":
        title = f"[uptime] test message for channel {delivery.channel_name}"
        text = "This is a test message from uptime: this channel works."
        document["text"] = text
        return Message(title, text, document)
    target, incident = payload["target"], payload["incident"]
    name, cause = target["name"], incident.get("cause") or "unknown cause"
    duration = format_duration(incident["duration_seconds"])
    if delivery.event == "resolved":
        title = f"[uptime] RESOLVED: {name} is up again after {duration}"
        text = (
            f"{name} is up again. It was down for {duration}, "
            f"from {incident['started_at']} to {incident['resolved_at']} (cause: {cause})."
        )
    elif delivery.event == "reminder":
        title = f"[uptime] STILL DOWN: {name}, down for {duration}"
        text = f"{name} is still down, for {duration} now, since {incident['started_at']}: {cause}"
    else:
        title = f"[uptime] DOWN: {name}: {cause}"
        text = f"{name} is down since {incident['started_at']}: {cause}"
    document.update(target=target, incident=incident, text=text)
    if delivery.event == "reminder":
        document["reminder"] = payload.get("reminder")
    return Message(title, text, document)
