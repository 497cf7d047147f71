"""The deliveries outbox: written by the record statement, claimed and settled by deliverers.

The record statement (``uptime_core.scheduling.record``) embeds ``OUTBOX_CTES``, so a delivery
is written in the statement that opens or resolves an incident; the worker's deliverers
(``uptime_worker/deliver.py``) claim them with ``FOR UPDATE SKIP LOCKED`` and a lease, send
them (``send.py``) and record each attempt through the functions here. The idempotency key is
written with the delivery and never changes, so every attempt of one message carries the same
key. The statements are named in ``uptime_core/sql/outbox.sql``; ``OUTBOX_CTES`` stays here
because it is a fragment of the composed record statement. docs/alerting.md has the semantics.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from uptime_core.alerting.channels import json_object
from uptime_core.enums import ChannelKind
from uptime_core.paging import page
from uptime_core.sql import queries

# The outbox (docs/alerting.md): for every incident change of a recorded row, one delivery per
# channel watching the target. A "down" inside a maintenance window is written as suppressed
# (never sent); a target still down after the window gets its "down" at its first check
# outside it; a "resolved" goes to exactly the channels that were sent the "down" (even one
# disabled or detached since); reminders follow the channel's interval while the target stays
# down outside windows.
OUTBOX_CTES = """
changes AS (
    SELECT o.id AS incident_id, o.target_id, 'opened' AS change, o.started_at, o.resolved_at,
           o.cause, d.target_name, d.in_maintenance
    FROM opened AS o
    JOIN decided AS d ON d.target_id = o.target_id
    UNION ALL
    SELECT c.id, c.target_id, 'closed', c.started_at, c.resolved_at, c.cause, d.target_name,
           d.in_maintenance
    FROM closed AS c
    JOIN decided AS d ON d.target_id = c.target_id
    UNION ALL
    SELECT i.id, i.target_id, 'still_down', i.started_at, i.resolved_at, i.cause,
           d.target_name, d.in_maintenance
    FROM decided AS d
    JOIN incident AS i ON i.target_id = d.target_id AND i.resolved_at IS NULL
    WHERE d.target_id IN (SELECT target_id FROM recorded)
      AND d.old_status = 'down' AND d.new_status = 'down' AND NOT d.in_maintenance
),
addressed AS (
    SELECT c.*, ch.id AS channel_id, ch.reminder_interval_seconds,
           EXISTS (SELECT 1 FROM delivery AS x
                   WHERE x.incident_id = c.incident_id AND x.channel_id = ch.id
                     AND x.event = 'down' AND x.state <> 'suppressed') AS announced,
           (SELECT count(*) FROM delivery AS x
            WHERE x.incident_id = c.incident_id AND x.channel_id = ch.id
              AND x.event = 'reminder' AND x.state <> 'suppressed') AS reminders,
           (SELECT max(x.created_at) FROM delivery AS x
            WHERE x.incident_id = c.incident_id AND x.channel_id = ch.id
              AND x.event IN ('down', 'reminder') AND x.state <> 'suppressed') AS last_told_at
    FROM changes AS c
    JOIN notification_channel AS ch
      ON CASE
             -- A resolution goes to the channels told of the outage, whatever they watch
             -- now (disabled or detached since); a deleted one took its rows with it.
             WHEN c.change = 'closed' THEN EXISTS (
                 SELECT 1 FROM delivery AS x
                 WHERE x.incident_id = c.incident_id AND x.channel_id = ch.id
                   AND x.event = 'down' AND x.state <> 'suppressed')
             ELSE ch.enabled
                  AND (ch.all_targets
                       OR EXISTS (SELECT 1 FROM channel_target AS ct
                                  WHERE ct.channel_id = ch.id AND ct.target_id = c.target_id))
         END
),
messages AS (
    SELECT a.*, m.event, m.sequence, m.state
    FROM addressed AS a
    CROSS JOIN LATERAL (
        SELECT 'down' AS event, 0 AS sequence,
               CASE WHEN a.in_maintenance THEN 'suppressed' ELSE 'pending' END AS state
        WHERE a.change = 'opened'
        UNION ALL
        SELECT 'resolved', 0, 'pending' WHERE a.change = 'closed' AND a.announced
        UNION ALL
        SELECT 'down', 0, 'pending' WHERE a.change = 'still_down' AND NOT a.announced
        UNION ALL
        SELECT 'reminder', a.reminders + 1, 'pending'
        WHERE a.change = 'still_down' AND a.announced
          AND a.last_told_at + make_interval(secs => a.reminder_interval_seconds) <= now()
    ) AS m
),
queued AS (
    INSERT INTO delivery (channel_id, incident_id, event, sequence, idempotency_key, payload,
                          state)
    SELECT channel_id, incident_id, event, sequence,
           format('uptime-incident-%s-%s-%s-channel-%s', incident_id, event, sequence,
                  channel_id),
           jsonb_build_object(
               'event', event,
               'target', jsonb_build_object('id', target_id, 'name', target_name),
               'incident', jsonb_build_object(
                   'id', incident_id, 'started_at', started_at, 'resolved_at', resolved_at,
                   'cause', cause,
                   'duration_seconds',
                   extract(epoch FROM coalesce(resolved_at, now()) - started_at)::float8),
               'reminder', sequence),
           state
    FROM messages
    ON CONFLICT (idempotency_key) WHERE state <> 'suppressed' DO NOTHING
    RETURNING state
)"""


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


async def list_deliveries(
    pool: asyncpg.Pool,
    first: int,
    before_id: int | None,
    channel_id: int | None = None,
    state: str | None = None,
) -> tuple[list[DeliveryRow], bool]:
    """A keyset page of deliveries, newest first."""
    rows = await pool.fetch(queries["list_deliveries"], first + 1, before_id, channel_id, state)
    return page(rows, first, DeliveryRow)


async def queue_test_message(pool: asyncpg.Pool, channel_id: int) -> DeliveryRow | None:
    """Queue a test message to a channel (the deliverers send it like any other); None if
    there is no such channel."""
    row = await pool.fetchrow(
        queries["queue_test_message"], channel_id, f"uptime-test-{uuid.uuid4()}"
    )
    return None if row is None else DeliveryRow(**dict(row))


async def prune_deliveries(connection: asyncpg.Connection | asyncpg.Pool, days: int) -> int:
    """Delete sent, failed and suppressed deliveries older than ``days`` whose incident is
    resolved (or that have none); how many."""
    status = await connection.execute(queries["prune_deliveries"], days)
    return int(status.split()[-1])


# -- the deliverers' statements (uptime_core/sql/outbox.sql) ----------------------------------


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
        queries["claim_due_deliveries"], worker_id, limit, lease_seconds, deadline_seconds
    )
    return [
        ClaimedDelivery(
            id=row["id"],
            event=row["event"],
            idempotency_key=row["idempotency_key"],
            payload=json_object(row["payload"]),
            attempts=row["attempts"],
            channel_id=row["channel_id"],
            channel_name=row["channel_name"],
            kind=ChannelKind(row["kind"]),
            config=json_object(row["config"]),
            seconds_left=row["seconds_left"],
        )
        for row in rows
    ]


async def begin_attempt(
    connection: asyncpg.Connection | asyncpg.Pool,
    delivery_id: int,
    worker_id: str,
    lease_seconds: float,
) -> int | None:
    """Count an attempt at a delivery this worker holds and extend its lease to cover it; the
    attempt's number, or None if the lease was lost."""
    attempts: int | None = await connection.fetchval(
        queries["begin_attempt"], delivery_id, worker_id, lease_seconds
    )
    return attempts


async def attempt_failed(
    connection: asyncpg.Connection | asyncpg.Pool,
    delivery_id: int,
    worker_id: str,
    error: str,
    *,
    retry_in_seconds: float,
    permanent: bool,
    deadline_seconds: float,
) -> str | None:
    """Record a failed attempt: retried in ``retry_in_seconds`` (the lease cleared), or
    ``failed`` when ``permanent`` or when that would pass the deadline (``deadline_seconds``
    after the delivery was written). The new state, or None if the lease was lost."""
    state: str | None = await connection.fetchval(
        queries["attempt_failed"],
        delivery_id,
        worker_id,
        error,
        retry_in_seconds,
        permanent,
        deadline_seconds,
    )
    return state


async def mark_sent(connection: asyncpg.Connection | asyncpg.Pool, delivery_id: int) -> None:
    """The delivery went out (recorded whoever holds the lease now)."""
    await connection.execute(queries["mark_sent"], delivery_id)


async def release_deliveries(
    connection: asyncpg.Connection | asyncpg.Pool, worker_id: str, delivery_ids: list[int]
) -> int:
    """Give back pending deliveries this worker holds but will not attempt; how many."""
    status = await connection.execute(queries["release_deliveries"], worker_id, delivery_ids)
    return int(status.split()[-1])
