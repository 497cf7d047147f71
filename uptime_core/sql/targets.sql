-- Targets as the API manages them (uptime_core/targets.py). Every statement that returns
-- targets returns TargetRow's columns, in its order (tests/core/test_sql_files.py checks).

-- create_target --
-- A new target from $1 .. $13 (a NULL key $11 is derived from the name by the trigger
-- derive_key, migration 0005); its first slot comes within a second, except for a transaction
-- creating hundreds, whose later targets are spread wider, up to their interval
-- (claim.FIRST_SLOT), so that targets created together do not all fire in the same second.
INSERT INTO target (name, kind, url, host, port, interval_seconds, timeout_seconds,
                    options, failure_threshold, recovery_threshold, key, retry_interval_seconds,
                    public, next_run_at)
SELECT $1, $2, $3, $4, $5, interval_seconds, $7, $8::jsonb, $9, $10, $11, $12, $13,
       now() + random() * make_interval(secs => least(interval_seconds, greatest(
           1, set_config('uptime.first_slots', (coalesce(nullif(
               current_setting('uptime.first_slots', true), '')::int, 0) + 1)::text, true)::int
           / 100.0)))
FROM (SELECT $6::int AS interval_seconds) AS given
RETURNING id, name, key, kind, url, host, port, interval_seconds, timeout_seconds, options,
          failure_threshold, recovery_threshold, retry_interval_seconds, public, paused, status,
          status_changed_at, next_run_at, created_at, updated_at

-- target_for_update --
-- Target $1, holding the row until the transaction ends (an update reads, then writes).
SELECT id, name, key, kind, url, host, port, interval_seconds, timeout_seconds, options,
       failure_threshold, recovery_threshold, retry_interval_seconds, public, paused, status,
       status_changed_at, next_run_at, created_at, updated_at
FROM target
WHERE id = $1
FOR UPDATE

-- update_target --
-- Replace target $1's settings with $2 .. $14. A change to what is probed or how often
-- (kind, URL, host, port, interval, timeout, options) moves the next slot to a new one, as for
-- a new target (claim.FIRST_SLOT), and frees the lease: a check in flight (or claimed ahead)
-- with the old settings is fenced out when it finishes, since its slot is no longer the
-- target's (even if the same worker claims the new slot).
UPDATE target
SET name = $2, kind = $3, url = $4, host = $5, port = $6, interval_seconds = $7,
    timeout_seconds = $8, options = $9::jsonb, failure_threshold = $10,
    recovery_threshold = $11, key = $12, retry_interval_seconds = $13, public = $14,
    updated_at = now(),
    next_run_at = CASE WHEN old.probe_changed AND NOT paused THEN
       now() + random() * make_interval(secs => least(interval_seconds, greatest(
           1, set_config('uptime.first_slots', (coalesce(nullif(
               current_setting('uptime.first_slots', true), '')::int, 0) + 1)::text, true)::int
           / 100.0)))
                       ELSE next_run_at END,
    lease_owner = CASE WHEN old.probe_changed THEN NULL ELSE lease_owner END,
    lease_expires_at = CASE WHEN old.probe_changed THEN NULL ELSE lease_expires_at END
FROM (SELECT (kind, url, host, port, interval_seconds, timeout_seconds, options)
             IS DISTINCT FROM ($3, $4, $5, $6, $7, $8, $9::jsonb) AS probe_changed
      FROM target WHERE id = $1) AS old
WHERE id = $1
RETURNING id, name, key, kind, url, host, port, interval_seconds, timeout_seconds, options,
          failure_threshold, recovery_threshold, retry_interval_seconds, public, paused, status,
          status_changed_at, next_run_at, created_at, updated_at

-- delete_target --
-- Delete target $1 with its incidents (by their foreign key), its results, rollups and
-- histograms (which have none: migration 0008). Run after target_for_update in the same
-- transaction: with the row locked no check of it can be recorded meanwhile (the record
-- statement locks it too), and this statement's snapshot sees every result recorded before.
WITH gone AS (
    DELETE FROM target WHERE id = $1 RETURNING id
),
results AS (
    DELETE FROM check_result WHERE target_id IN (SELECT id FROM gone)
),
hourly AS (
    DELETE FROM check_rollup_hourly WHERE target_id IN (SELECT id FROM gone)
),
daily AS (
    DELETE FROM check_rollup_daily WHERE target_id IN (SELECT id FROM gone)
),
hourly_histogram AS (
    DELETE FROM check_histogram_hourly WHERE target_id IN (SELECT id FROM gone)
),
daily_histogram AS (
    DELETE FROM check_histogram_daily WHERE target_id IN (SELECT id FROM gone)
)
SELECT count(*) FROM gone

-- pause_target --
-- Stop scheduling target $1; a check in flight is fenced out when it finishes.
UPDATE target
SET paused = true, status = 'paused',
    status_changed_at = CASE WHEN status <> 'paused' THEN now() ELSE status_changed_at END,
    next_run_at = NULL, lease_owner = NULL, lease_expires_at = NULL, updated_at = now()
WHERE id = $1
RETURNING id, name, key, kind, url, host, port, interval_seconds, timeout_seconds, options,
          failure_threshold, recovery_threshold, retry_interval_seconds, public, paused, status,
          status_changed_at, next_run_at, created_at, updated_at

-- resume_target --
-- Schedule target $1 again from now, as if new (state unknown until checked).
UPDATE target
SET paused = false,
    status = CASE WHEN paused THEN 'unknown' ELSE status END,
    status_changed_at = CASE WHEN paused THEN now() ELSE status_changed_at END,
    consecutive_failures = CASE WHEN paused THEN 0 ELSE consecutive_failures END,
    consecutive_successes = CASE WHEN paused THEN 0 ELSE consecutive_successes END,
    streak_started_at = CASE WHEN paused THEN NULL ELSE streak_started_at END,
    next_run_at = CASE WHEN paused THEN now() ELSE next_run_at END,
    updated_at = now()
WHERE id = $1
RETURNING id, name, key, kind, url, host, port, interval_seconds, timeout_seconds, options,
          failure_threshold, recovery_threshold, retry_interval_seconds, public, paused, status,
          status_changed_at, next_run_at, created_at, updated_at

-- check_target_now --
-- Make target $1 due at once, unless it is paused or a check is running right now.
UPDATE target
SET next_run_at = CASE WHEN NOT paused
                        AND (lease_expires_at IS NULL OR lease_expires_at < now())
                       THEN least(next_run_at, now()) ELSE next_run_at END
WHERE id = $1
RETURNING id, name, key, kind, url, host, port, interval_seconds, timeout_seconds, options,
          failure_threshold, recovery_threshold, retry_interval_seconds, public, paused, status,
          status_changed_at, next_run_at, created_at, updated_at

-- targets_by_id --
SELECT id, name, key, kind, url, host, port, interval_seconds, timeout_seconds, options,
       failure_threshold, recovery_threshold, retry_interval_seconds, public, paused, status,
       status_changed_at, next_run_at, created_at, updated_at
FROM target
WHERE id = ANY($1::bigint[])

-- target_by_key --
SELECT id, name, key, kind, url, host, port, interval_seconds, timeout_seconds, options,
       failure_threshold, recovery_threshold, retry_interval_seconds, public, paused, status,
       status_changed_at, next_run_at, created_at, updated_at
FROM target
WHERE key = $1

-- list_targets --
-- A page of targets in id order: after id $1, in status $2, whose name matches the ILIKE
-- pattern $3 (each NULL: any), $4 rows at most.
SELECT id, name, key, kind, url, host, port, interval_seconds, timeout_seconds, options,
       failure_threshold, recovery_threshold, retry_interval_seconds, public, paused, status,
       status_changed_at, next_run_at, created_at, updated_at
FROM target
WHERE ($1::bigint IS NULL OR id > $1)
  AND ($2::text IS NULL OR status = $2)
  AND ($3::text IS NULL OR name ILIKE $3)
ORDER BY id
LIMIT $4
