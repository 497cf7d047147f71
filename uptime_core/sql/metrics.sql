-- What the API's /metrics and badges read (uptime_core/exposition.py, uptime_core/badges.py).
-- Columns as MetricTarget and BadgeTarget name them (tests/core/test_sql_files.py checks).

-- metrics_targets --
-- Every target with its most recent check (its columns NULL before the first) and its
-- incidents: how many are open now (0 or 1) and how many were ever opened.
SELECT t.id, t.key, t.name, t.kind::text AS kind, t.status::text AS status, t.paused,
       c.status::text AS check_status, c.finished_at, c.latency_ms, c.http_status,
       c.tls_expires_at, i.open_incidents, i.incidents
FROM target AS t
LEFT JOIN LATERAL (
    SELECT status, finished_at, latency_ms, http_status, tls_expires_at
    FROM check_result
    WHERE target_id = t.id ORDER BY scheduled_for DESC LIMIT 1
) AS c ON true
CROSS JOIN LATERAL (
    SELECT count(*) FILTER (WHERE resolved_at IS NULL) AS open_incidents, count(*) AS incidents
    FROM incident
    WHERE target_id = t.id
) AS i
ORDER BY t.key

-- public_target_by_key --
-- The target $1 if it is public (badges); no row for an unknown or a private key alike.
SELECT id, key, name, status::text AS status, paused
FROM target
WHERE key = $1 AND public
