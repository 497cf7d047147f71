-- The deliveries outbox (uptime_core/alerting/outbox.py): read by the API, claimed and settled
-- by the worker's deliverers, pruned by the hourly upkeep. The record statement writes the
-- deliveries themselves (outbox.OUTBOX_CTES, composed into docs/sql/record_results.sql).

-- list_deliveries --
-- A page of deliveries, newest first: $1 rows with an id below $2, of channel $3, in state
-- $4 (each NULL: any). The columns are DeliveryRow's.
SELECT id, channel_id, incident_id, event, sequence, idempotency_key, state, attempts,
       next_attempt_at, last_error, created_at, sent_at
FROM delivery
WHERE ($2::bigint IS NULL OR id < $2) AND ($3::bigint IS NULL OR channel_id = $3)
  AND ($4::text IS NULL OR state = $4)
ORDER BY id DESC
LIMIT $1

-- queue_test_message --
-- A test message to channel $1 with idempotency key $2, sent by the deliverers like any
-- other; no row if there is no such channel. The columns are DeliveryRow's.
INSERT INTO delivery (channel_id, event, idempotency_key, payload)
SELECT id, 'test', $2, jsonb_build_object('event', 'test', 'channel', name)
FROM notification_channel WHERE id = $1
RETURNING id, channel_id, incident_id, event, sequence, idempotency_key, state, attempts,
          next_attempt_at, last_error, created_at, sent_at

-- claim_due_deliveries --
-- Lease up to $2 due, unleased, pending deliveries to worker $1 for $3 seconds, oldest first
-- (as targets are claimed: a MATERIALIZED CTE so the locking subquery runs once), with their
-- channel and the seconds left before the retry deadline ($4 seconds after the row was
-- written). A message waits while an earlier one of the same incident to the same channel is
-- still pending, so a "resolved" never overtakes its "down" that is waiting to be retried.
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

-- begin_attempt --
-- Before each attempt at delivery $1 by worker $2: count it and make the lease cover it ($3
-- seconds); no row if the lease was lost.
UPDATE delivery
SET attempts = attempts + 1, lease_expires_at = now() + make_interval(secs => $3)
WHERE id = $1 AND lease_owner = $2 AND state = 'pending' AND lease_expires_at > now()
RETURNING attempts

-- attempt_failed --
-- After a failed attempt at delivery $1 by worker $2: the error $3, and either the time of the
-- next attempt ($4 seconds on, the backoff) with the lease cleared, so the row is claimed again
-- when it is due and holds no deliverer while it waits; or, when retrying cannot help ($5) or
-- the next attempt would start past the deadline ($6 seconds after the row was written),
-- "failed". No row if the lease was lost (another worker holds the row now).
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

-- mark_sent --
-- Delivery $1 went out: recorded whoever holds the lease now (it did go out).
UPDATE delivery
SET state = 'sent', sent_at = now(), lease_owner = NULL, lease_expires_at = NULL
WHERE id = $1 AND state = 'pending'

-- release_deliveries --
-- Give back the pending deliveries $2 that worker $1 holds but will not attempt.
UPDATE delivery
SET lease_owner = NULL, lease_expires_at = NULL
WHERE id = ANY($2::bigint[]) AND lease_owner = $1 AND state = 'pending'

-- prune_deliveries --
-- Delete sent, failed and suppressed deliveries older than $1 days. Finished deliveries are
-- kept as long as raw results, but only once their incident is resolved (or for test
-- messages, which have none): the rows of an open incident are what tell the record statement
-- its "down" was sent and how many reminders were, so deleting them would send the "down"
-- again and repeat reminder keys.
DELETE FROM delivery AS d
WHERE d.state IN ('sent', 'failed', 'suppressed')
  AND d.created_at < now() - make_interval(days => $1)
  AND (d.incident_id IS NULL
       OR EXISTS (SELECT 1 FROM incident AS i
                  WHERE i.id = d.incident_id AND i.resolved_at IS NOT NULL))
