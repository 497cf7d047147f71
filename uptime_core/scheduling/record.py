"""Record: complete a batch of probed slots in one fenced statement.

``RECORD_RESULTS`` advances each slot only where the lease is still this worker's, unexpired,
and on the claimed slot (fencing); inserts the results
``ON CONFLICT (target_id, scheduled_for) DO NOTHING``; moves the state machine; opens or closes
incidents; writes the deliveries of the alerting outbox; adds to the hourly and daily rollups;
and announces what it recorded on ``EVENTS_CHANNEL``, all for rows actually recorded, in one
transaction. It is composed from the pieces other concepts own (the outbox, the rollup upsert,
the maintenance test); ``docs/sql/record_results.sql`` is the whole statement as PostgreSQL
receives it (``make sql`` rewrites it; a test fails while it differs from ``RECORD_RESULTS``).

Slots: the next slot is the previous one plus the interval. When a slot is recorded more than
one interval after its time, the schedule jumps to the latest slot on the grid not after now;
the slots in between are never run and count as no data (monitor downtime), never as up or
down.

Confirmation: while a change is unconfirmed (a failing check has made the target PENDING, or a
DOWN target's passing checks have not yet reached the recovery threshold) the next check comes
one *retry interval* after the slot (``retry_interval_seconds``; NULL: the smaller of the
interval and 10 s) instead of one interval. Once the change is confirmed or its run breaks,
the schedule returns to the target's grid: the next slot is the first one after the check on
the grid of the slot where the run began, so confirmation checks are extra checks between
regular slots and never shift them (docs/architecture.md, "Slots").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from uptime_core.alerting.outbox import OUTBOX_CTES
from uptime_core.events import EVENTS_CHANNEL
from uptime_core.maintenance import in_maintenance_sql
from uptime_core.probes import ProbeResult
from uptime_core.stats.rollups import rollup_ctes

# The retry interval in force: the target's, or by default the smaller of its interval and
# 10 s; never longer than the interval (the API refuses a longer one; an interval shortened
# later below a stored retry interval is refused too, but the schedule does not rely on it).
RETRY_SECONDS = "least(coalesce(t.retry_interval_seconds, 10), t.interval_seconds)"

# Whether a target whose state is ``status`` after a check that ``failed`` is confirming a
# change: PENDING (failing, not yet DOWN), or DOWN after a pass (recovering, not yet UP).
CONFIRMING = "({status} = 'pending' OR ({status} = 'down' AND NOT {failed}))"

# The slot after ``d.scheduled_for``.
#
# - While confirming a change: one retry interval on, or, when that is already more than a
#   retry interval past, the latest slot on the retry grid not after now().
# - Otherwise: the first slot after it on the grid through ``d.anchor`` (the slot itself, or
#   where the run of a confirmation began when this check ended one), or, when a later slot of
#   that grid is already past, the latest one not after now(). With the anchor at the slot
#   this is one interval on, or the latest slot not after now() when that is more than an
#   interval past.
NEXT_SLOT = f"""CASE
            WHEN {CONFIRMING.format(status="d.new_status", failed="d.failed")}
            THEN d.scheduled_for + make_interval(secs => d.retry_seconds) * greatest(
                1, floor(extract(epoch FROM now() - d.scheduled_for) / d.retry_seconds))
            ELSE d.anchor + make_interval(secs => d.interval_seconds) * greatest(
                floor(extract(epoch FROM d.scheduled_for - d.anchor) / d.interval_seconds) + 1,
                floor(extract(epoch FROM now() - d.anchor) / d.interval_seconds))
        END"""

# Whether the decided row ``d`` had its result inserted (not a conflict): the state moves only
# then. A hashed lookup in the inserted rows: a join of two CTEs is planned as nested loops (100
# x 100 comparisons a batch), and asking check_result itself would lock every partition of it
# in each execution of the generic plan.
RECORDED = "d.target_id IN (SELECT target_id FROM recorded)"

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
           {RETRY_SECONDS} AS retry_seconds,
           t.failure_threshold,
           t.recovery_threshold, t.consecutive_failures, t.consecutive_successes,
           t.streak_started_at, i.status = 'down' AS failed,
           -- The grid the next regular slot is on: where the run of the confirmation began
           -- when the target was confirming a change before this check (this check may be a
           -- confirmation check, between regular slots), else this slot.
           CASE WHEN CASE WHEN t.status = 'down' THEN t.consecutive_successes > 0
                          ELSE t.consecutive_failures > 0 END
                THEN least(coalesce(t.streak_started_at, i.scheduled_for), i.scheduled_for)
                ELSE i.scheduled_for
           END AS anchor
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
windows AS MATERIALIZED (
    -- The maintenance windows that can apply to the batch, read once (usually none): asked
    -- of the table once a row, the test cost more than everything else of a row together.
    SELECT m.*
    FROM maintenance_window AS m
    WHERE m.target_id IS NULL OR m.target_id = ANY($2::bigint[])
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
           {in_maintenance_sql("c.target_id", "c.scheduled_for", "windows")} AS in_maintenance
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
    -- recorded.
    UPDATE target AS t
    SET status = CASE WHEN d.kept THEN d.new_status ELSE t.status END,
        status_changed_at = CASE WHEN d.kept AND d.new_status <> d.old_status
                                 THEN now() ELSE t.status_changed_at END,
        consecutive_failures = CASE WHEN d.kept THEN d.failures ELSE t.consecutive_failures END,
        consecutive_successes = CASE WHEN d.kept THEN d.successes
                                     ELSE t.consecutive_successes END,
        streak_started_at = CASE WHEN d.kept THEN d.streak_start ELSE t.streak_started_at END,
        next_run_at = {NEXT_SLOT},
        lease_owner = NULL,
        lease_expires_at = NULL
    FROM (SELECT d.*, {RECORDED} AS kept FROM decided AS d) AS d
    WHERE t.id = d.target_id
    RETURNING t.id, t.next_run_at
),
-- Checks inside a maintenance window count as maintenance, neither up nor down.
{rollup_ctes("recorded")},
opened AS (
    -- Back-dated to the first failing check of the run that confirmed the outage.
    INSERT INTO incident (target_id, started_at, cause)
    SELECT d.target_id, d.streak_start, concat_ws(': ', d.error_kind, d.message)
    FROM decided AS d
    WHERE {RECORDED} AND d.new_status = 'down' AND d.old_status <> 'down'
    ON CONFLICT DO NOTHING
    RETURNING id, target_id, started_at, resolved_at, cause
),
closed AS (
    -- Resolved at the first passing check of the run that confirmed the recovery.
    UPDATE incident AS i
    SET resolved_at = greatest(d.streak_start, i.started_at)
    FROM decided AS d
    WHERE {RECORDED}
      AND i.target_id = d.target_id
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
    WHERE {RECORDED} AND d.new_status <> d.old_status
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
