-- History: recorded checks and incidents as the API reads them (uptime_core/history.py).
-- Checks come back with CheckRow's columns, incidents with IncidentRow's, in their order
-- (tests/core/test_sql_files.py checks).

-- latest_checks --
-- Each of the targets $1's most recent check.
SELECT c.*
FROM unnest($1::bigint[]) AS t(id)
CROSS JOIN LATERAL (
    SELECT target_id, scheduled_for, started_at, finished_at, status, latency_ms, error_kind,
           message, http_status
    FROM check_result
    WHERE target_id = t.id ORDER BY scheduled_for DESC LIMIT 1
) AS c

-- recent_checks --
-- Each of the targets $1's newest $2 checks, by target, newest first.
SELECT c.*
FROM unnest($1::bigint[]) AS t(id)
CROSS JOIN LATERAL (
    SELECT target_id, scheduled_for, started_at, finished_at, status, latency_ms, error_kind,
           message, http_status
    FROM check_result
    WHERE target_id = t.id ORDER BY scheduled_for DESC LIMIT $2
) AS c
ORDER BY c.target_id, c.scheduled_for DESC

-- checks_page --
-- Target $1's checks before slot $2 (NULL: the newest), newest first, $3 at most.
SELECT target_id, scheduled_for, started_at, finished_at, status, latency_ms, error_kind,
       message, http_status
FROM check_result
WHERE target_id = $1 AND ($2::timestamptz IS NULL OR scheduled_for < $2)
ORDER BY scheduled_for DESC
LIMIT $3

-- incident_by_id --
SELECT id, target_id, started_at, resolved_at, cause FROM incident WHERE id = $1

-- incidents_page --
-- Target $1's incidents with an id below $2 (NULL: the newest), newest first, $3 at most.
SELECT id, target_id, started_at, resolved_at, cause
FROM incident
WHERE target_id = $1 AND ($2::bigint IS NULL OR id < $2)
ORDER BY id DESC
LIMIT $3
