-- Scheduling: lease due slots to a worker, and give back the ones it will not run
-- (uptime_core/scheduling/claim.py). Each is one autocommit statement on the database clock.

-- claim_due_targets --
-- Lease up to $2 unleased targets due within the next $4 seconds to worker $1, oldest slot
-- first, so that the worker can start each at its time. FOR UPDATE SKIP LOCKED in a
-- MATERIALIZED CTE, so the planner cannot re-run the locking subquery. A lease covers the
-- probe's timeout twice from now (a probe may wait for a free runner for up to one timeout
-- before it starts) plus a margin ($3 seconds) for completion, and never less than one timeout
-- plus the margin from the slot, so it also covers the wait for a slot claimed ahead.
WITH due AS MATERIALIZED (
    SELECT id
    FROM target
    WHERE NOT paused
      AND next_run_at <= now() + make_interval(secs => $4)
      AND (lease_expires_at IS NULL OR lease_expires_at < now())
    ORDER BY next_run_at
    LIMIT $2
    FOR UPDATE SKIP LOCKED
)
UPDATE target AS t
SET lease_owner = $1,
    lease_expires_at = greatest(now() + make_interval(secs => t.timeout_seconds * 2 + $3),
                                t.next_run_at + make_interval(secs => t.timeout_seconds + $3))
FROM due
WHERE t.id = due.id
RETURNING t.id, t.kind, t.url, t.host, t.port, t.timeout_seconds, t.options,
          t.next_run_at AS slot, now() AS claimed_at, t.lease_expires_at,
          -- The retry interval in force, as the record statement's RETRY_SECONDS has it.
          least(coalesce(t.retry_interval_seconds, 10), t.interval_seconds)::float8
              AS next_slot_within

-- release_leases --
-- Give back the leases of targets $2 that worker $1 holds but will not use.
UPDATE target
SET lease_owner = NULL, lease_expires_at = NULL
WHERE id = ANY($2::bigint[]) AND lease_owner = $1
