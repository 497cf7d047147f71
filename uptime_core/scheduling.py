"""Claim and complete: the SQL that makes any number of workers safe side by side.

Every query here is one statement, in autocommit, timed by the database clock (``now()``):

- ``CLAIM_DUE_TARGETS`` takes a batch of due, unleased targets with ``FOR UPDATE SKIP LOCKED``
  in a ``MATERIALIZED`` CTE (so the planner cannot re-run the locking subquery) and leases them.
- ``RECORD_RESULTS`` completes a batch: it advances each slot only where the lease is still
  this worker's, unexpired, and on the claimed slot (fencing); inserts the results
  ``ON CONFLICT (target_id, scheduled_for) DO NOTHING``; moves the state machine; opens or
  closes incidents; writes the deliveries of the alerting outbox; and adds to the hourly and
  daily rollups, all for rows actually recorded.
- ``RELEASE_LEASES`` gives back slots a stopping worker never started.

Slots: the next slot is the previous one plus the interval. A slot whose lease expired (its
worker died) is claimed again and run late. When a slot is recorded more than one interval
after its time, the schedule jumps to the latest slot on the grid not after now; the slots in
between are never run and count as no data (monitor downtime), never as up or down.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from uptime_core.maintenance import in_maintenance_sql
from uptime_core.probes import ProbeResult
from uptime_core.stats import rollup_upsert_sql

# The slot after ``slot``: one interval on, or, when that is already more than an interval
# past, the latest slot on the same grid that is not after now().
NEXT_SLOT = (
    "d.scheduled_for + make_interval(secs => d.interval_seconds)"
    " * greatest(1, floor(extract(epoch FROM now() - d.scheduled_for) / d.interval_seconds))"
)


# A lease covers the probe's timeout twice (a claimed probe may wait for a free slot of the
# semaphore for up to one timeout before it starts) plus a margin for completion.
CLAIM_DUE_TARGETS = """
WITH due AS MATERIALIZED (
    SELECT id
    FROM target
    WHERE NOT paused
      AND next_run_at <= now()
      AND (lease_expires_at IS NULL OR lease_expires_at < now())
    ORDER BY next_run_at
    LIMIT $2
    FOR UPDATE SKIP LOCKED
)
UPDATE target AS t
SET lease_owner = $1,
    lease_expires_at = now() + make_interval(secs => t.timeout_seconds * 2 + $3)
FROM due
WHERE t.id = due.id
RETURNING t.id, t.kind, t.url, t.host, t.port, t.timeout_seconds, t.options,
          t.next_run_at AS slot, now() AS claimed_at, t.lease_expires_at
"""

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

# The channel on which recording announces new results and state changes.
EVENTS_CHANNEL = "uptime_events"

RECORD_RESULTS = f"""
WITH input AS (
    -- One outcome per slot, whatever the batch holds.
    SELECT DISTINCT ON (target_id, scheduled_for) *
    FROM unnest($2::bigint[], $3::timestamptz[], $4::timestamptz[], $5::timestamptz[],
                $6::text[], $7::float8[], $8::text[], $9::text[], $10::int[], $11::text[],
                $12::timestamptz[])
         AS i(target_id, scheduled_for, started_at, finished_at, status, latency_ms, error_kind,
              message, http_status, resolved_address, tls_expires_at)
),
fenced AS (
    SELECT i.*, t.name AS target_name, t.status AS old_status, t.interval_seconds,
           t.failure_threshold,
           t.recovery_threshold, t.consecutive_failures, t.consecutive_successes,
           t.streak_started_at, i.status = 'down' AS failed
    FROM input AS i
    JOIN target AS t ON t.id = i.target_id
    WHERE t.lease_owner = $1
      AND t.lease_expires_at > now()
      AND t.next_run_at = i.scheduled_for
    FOR UPDATE OF t
),
counted AS (
    SELECT f.*,
           CASE WHEN f.failed THEN f.consecutive_failures + 1 ELSE 0 END AS failures,
           CASE WHEN f.failed THEN 0 ELSE f.consecutive_successes + 1 END AS successes,
           CASE WHEN (f.failed AND f.consecutive_failures > 0)
                  OR (NOT f.failed AND f.consecutive_successes > 0)
                THEN f.streak_started_at
                ELSE f.scheduled_for
           END AS streak_start
    FROM fenced AS f
),
decided AS (
    SELECT c.*,
           CASE
               WHEN c.failed AND (c.old_status = 'down' OR c.failures >= c.failure_threshold)
                   THEN 'down'
               WHEN c.failed THEN 'pending'
               WHEN c.old_status = 'down' AND c.successes < c.recovery_threshold THEN 'down'
               ELSE c.status
           END AS new_status,
           {in_maintenance_sql("c.target_id", "c.scheduled_for")} AS in_maintenance
    FROM counted AS c
),
recorded AS (
    INSERT INTO check_result (target_id, scheduled_for, started_at, finished_at, status,
                              latency_ms, error_kind, message, http_status, resolved_address,
                              tls_expires_at, recorded_by, in_maintenance)
    SELECT d.target_id, d.scheduled_for, d.started_at, d.finished_at, d.status, d.latency_ms,
           d.error_kind, d.message, d.http_status, d.resolved_address, d.tls_expires_at, $1,
           d.in_maintenance
    FROM decided AS d
    ON CONFLICT (target_id, scheduled_for) DO NOTHING
    RETURNING target_id, scheduled_for, status, latency_ms, in_maintenance
),
advanced AS (
    -- Every fenced slot advances and frees its lease; the state moves only with a result
    -- actually recorded.
    UPDATE target AS t
    SET status = CASE WHEN r.target_id IS NULL THEN t.status ELSE d.new_status END,
        status_changed_at = CASE WHEN r.target_id IS NOT NULL AND d.new_status <> d.old_status
                                 THEN now() ELSE t.status_changed_at END,
        consecutive_failures = CASE WHEN r.target_id IS NULL THEN t.consecutive_failures
                                    ELSE d.failures END,
        consecutive_successes = CASE WHEN r.target_id IS NULL THEN t.consecutive_successes
                                     ELSE d.successes END,
        streak_started_at = CASE WHEN r.target_id IS NULL THEN t.streak_started_at
                                 ELSE d.streak_start END,
        next_run_at = {NEXT_SLOT},
        lease_owner = NULL,
        lease_expires_at = NULL
    FROM decided AS d
    LEFT JOIN recorded AS r ON r.target_id = d.target_id
    WHERE t.id = d.target_id
    RETURNING t.id, t.next_run_at
),
-- Checks inside a maintenance window count as maintenance, neither up nor down.
hourly AS ({rollup_upsert_sql("hour", "recorded", maintenance=True)}),
daily AS ({rollup_upsert_sql("day", "recorded", maintenance=True)}),
opened AS (
    -- Back-dated to the first failing check of the run that confirmed the outage.
    INSERT INTO incident (target_id, started_at, cause)
    SELECT d.target_id, d.streak_start, concat_ws(': ', d.error_kind, d.message)
    FROM decided AS d
    JOIN recorded AS r ON r.target_id = d.target_id
    WHERE d.new_status = 'down' AND d.old_status <> 'down'
    ON CONFLICT DO NOTHING
    RETURNING id, target_id, started_at, resolved_at, cause
),
closed AS (
    -- Resolved at the first passing check of the run that confirmed the recovery.
    UPDATE incident AS i
    SET resolved_at = greatest(d.streak_start, i.started_at)
    FROM decided AS d
    JOIN recorded AS r ON r.target_id = d.target_id
    WHERE i.target_id = d.target_id
      AND i.resolved_at IS NULL
      AND d.old_status = 'down'
      AND d.new_status <> 'down'
    RETURNING i.id, i.target_id, i.started_at, i.resolved_at, i.cause
),
{OUTBOX_CTES},
events AS (
    -- For live views (the API's subscriptions): which slots were recorded, in notifications
    -- of at most 100 (NOTIFY payloads stop at 8000 bytes), and which targets changed state.
    SELECT json_build_object('checks', json_agg(json_build_array(target_id, scheduled_for)))::text
           AS payload
    FROM (SELECT target_id, scheduled_for, (row_number() OVER () - 1) / 100 AS chunk
          FROM recorded) AS numbered
    GROUP BY chunk
    UNION ALL
    SELECT json_build_object('changes', json_agg(json_build_array(
               d.target_id, d.old_status, d.new_status, d.scheduled_for)))::text
    FROM decided AS d
    JOIN recorded AS r ON r.target_id = d.target_id
    WHERE d.new_status <> d.old_status
    HAVING count(*) > 0
),
notified AS (
    SELECT pg_notify('{EVENTS_CHANNEL}', payload) FROM events
)
SELECT (SELECT count(*) FROM recorded) AS recorded,
       (SELECT count(*) FROM opened) AS opened,
       (SELECT count(*) FROM closed) AS closed,
       (SELECT count(*) FROM notified) AS notified,
       (SELECT count(*) FROM queued WHERE state = 'pending') AS queued,
       (SELECT extract(epoch FROM min(next_run_at) - now())::float8 FROM advanced) AS next_due_in
"""

RELEASE_LEASES = """
UPDATE target
SET lease_owner = NULL, lease_expires_at = NULL
WHERE id = ANY($2::bigint[]) AND lease_owner = $1
"""

# Seconds until the next unleased slot falls due (NULL: nothing scheduled).
SECONDS_UNTIL_NEXT_DUE = """
SELECT extract(epoch FROM min(next_run_at) - now())::float8
FROM target
WHERE NOT paused AND (lease_expires_at IS NULL OR lease_expires_at < now())
"""

# A new target's first slot: spread within its interval, so that a thousand targets created
# together do not all fire in the same second.
FIRST_SLOT = "now() + random() * make_interval(secs => interval_seconds)"


@dataclass(frozen=True, slots=True)
class ClaimedSlot:
    """One slot of one target, leased to this worker. Satisfies ``probes.ProbeTarget``."""

    id: int
    kind: str
    url: str | None
    host: str | None
    port: int | None
    timeout_seconds: float
    options: dict[str, Any]
    slot: datetime
    claimed_at: datetime
    lease_expires_at: datetime


@dataclass(frozen=True, slots=True)
class CheckOutcome:
    """A probe's result for a claimed slot, with its times on the database clock."""

    target_id: int
    slot: datetime
    started_at: datetime
    finished_at: datetime
    result: ProbeResult


@dataclass(frozen=True, slots=True)
class Recorded:
    """What ``record_results`` did: results stored, incidents opened and closed, and in how
    many seconds the earliest of the advanced slots falls due (None if none advanced)."""

    recorded: int
    opened: int
    closed: int
    next_due_in: float | None
    queued: int = 0  # deliveries written for sending (suppressed ones not counted)


async def claim_due_targets(
    connection: asyncpg.Connection | asyncpg.Pool,
    worker_id: str,
    limit: int,
    lease_margin_seconds: float,
) -> list[ClaimedSlot]:
    """Lease up to ``limit`` due slots to ``worker_id``, oldest first."""
    rows = await connection.fetch(CLAIM_DUE_TARGETS, worker_id, limit, lease_margin_seconds)
    return [
        ClaimedSlot(
            id=row["id"],
            kind=row["kind"],
            url=row["url"],
            host=row["host"],
            port=row["port"],
            timeout_seconds=row["timeout_seconds"],
            options=row["options"],
            slot=row["slot"],
            claimed_at=row["claimed_at"],
            lease_expires_at=row["lease_expires_at"],
        )
        for row in rows
    ]


async def record_results(
    connection: asyncpg.Connection | asyncpg.Pool,
    worker_id: str,
    outcomes: list[CheckOutcome],
) -> Recorded:
    """Record a batch of outcomes in one fenced statement (see the module docstring)."""
    results = [o.result for o in outcomes]
    row = await connection.fetchrow(
        RECORD_RESULTS,
        worker_id,
        [o.target_id for o in outcomes],
        [o.slot for o in outcomes],
        [o.started_at for o in outcomes],
        [o.finished_at for o in outcomes],
        [r.status.value for r in results],
        [r.latency_ms for r in results],
        [r.error_kind.value if r.error_kind else None for r in results],
        [r.message for r in results],
        [r.http_status for r in results],
        [r.resolved_address for r in results],
        [r.tls_expires_at for r in results],
    )
    assert row is not None
    return Recorded(
        recorded=row["recorded"],
        opened=row["opened"],
        closed=row["closed"],
        next_due_in=row["next_due_in"],
        queued=row["queued"],
    )


async def release_leases(
    connection: asyncpg.Connection | asyncpg.Pool, worker_id: str, target_ids: list[int]
) -> int:
    """Give back leases this worker holds but will not use; how many were released."""
    status = await connection.execute(RELEASE_LEASES, worker_id, target_ids)
    return int(status.split()[-1])


async def seconds_until_next_due(connection: asyncpg.Connection | asyncpg.Pool) -> float | None:
    """How long until an unleased slot falls due (negative: overdue; None: nothing scheduled)."""
    value: float | None = await connection.fetchval(SECONDS_UNTIL_NEXT_DUE)
    return value
