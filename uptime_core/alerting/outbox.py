"""The deliveries outbox: written by the record statement, claimed and settled by deliverers.

The record statement (``uptime_core.scheduling.record``) embeds ``OUTBOX_CTES``, so a delivery
is written in the statement that opens or resolves an incident; the worker's deliverers
(``uptime_worker/deliver.py``) claim them with ``FOR UPDATE SKIP LOCKED`` and a lease, send
them (``send.py``) and record each attempt through the functions here. The idempotency key is
written with the delivery and never changes, so every attempt of one message carries the same
key. docs/alerting.md has the semantics.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from uptime_core.alerting.channels import json_object
from uptime_core.enums import ChannelKind

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
    JOIN recorded AS r ON r.target_id = d.target_id
    JOIN incident AS i ON i.target_id = d.target_id AND i.resolved_at IS NULL
    WHERE d.old_status = 'down' AND d.new_status = 'down' AND NOT d.in_maintenance
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
