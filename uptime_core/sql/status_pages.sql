-- Public status pages and operators' incident updates (uptime_core/status_pages.py and
-- uptime_core/public_status.py). A page is written whole in one transaction: its row, then
-- its groups and their targets replaced.

-- insert_status_page --
INSERT INTO status_page (slug, title, description, show_latency, show_uptime_windows)
VALUES ($1, $2, $3, $4, $5)
RETURNING id

-- update_status_page --
-- Replace page $1's settings with $2 .. $6 (insert_status_page's columns, in that order).
UPDATE status_page
SET (slug, title, description, show_latency, show_uptime_windows, updated_at)
    = ($2, $3, $4, $5, $6, now())
WHERE id = $1

-- status_page_for_update --
SELECT id FROM status_page WHERE id = $1 FOR UPDATE

-- delete_status_page --
DELETE FROM status_page WHERE id = $1

-- delete_status_page_groups --
-- Its targets go with them (ON DELETE CASCADE).
DELETE FROM status_page_group WHERE status_page_id = $1

-- insert_status_page_groups --
-- Page $1's groups: names $2 in order (position 0, 1, ...), ids in the same order.
INSERT INTO status_page_group (status_page_id, position, name)
SELECT $1, n - 1, name
FROM unnest($2::text[]) WITH ORDINALITY AS g(name, n)
ORDER BY n
RETURNING id

-- insert_status_page_targets --
-- (group $1[i], target $2[i], position $3[i]).
INSERT INTO status_page_target (group_id, target_id, position)
SELECT group_id, target_id, position
FROM unnest($1::bigint[], $2::bigint[], $3::smallint[]) AS t(group_id, target_id, position)

-- existing_target_ids --
-- Which of the ids $1 are targets.
SELECT id FROM target WHERE id = ANY ($1::bigint[])

-- status_pages_by_id --
-- Pages $1 (NULL: every page) with an id above $2 (NULL: from the first), in id order, $3 at
-- most (NULL: all); each with its groups as [[name, [target id, ...]], ...] in order.
SELECT p.id, p.slug, p.title, p.description, p.show_latency, p.show_uptime_windows,
       p.created_at, p.updated_at,
       coalesce((
           SELECT json_agg(json_build_array(g.name, coalesce((
                      SELECT json_agg(st.target_id ORDER BY st.position)
                      FROM status_page_target AS st
                      WHERE st.group_id = g.id), '[]'::json)) ORDER BY g.position)
           FROM status_page_group AS g
           WHERE g.status_page_id = p.id), '[]'::json)::text AS groups
FROM status_page AS p
WHERE ($1::bigint[] IS NULL OR p.id = ANY ($1::bigint[]))
  AND ($2::bigint IS NULL OR p.id > $2)
ORDER BY p.id
LIMIT $3

-- status_page_id_by_slug --
SELECT id FROM status_page WHERE slug = $1

-- incident_exists --
SELECT EXISTS (SELECT 1 FROM incident WHERE id = $1)

-- insert_incident_update --
INSERT INTO incident_update (incident_id, status, message)
VALUES ($1, $2, $3)
RETURNING id, incident_id, status, message, created_at

-- incident_updates --
-- The updates of incidents $1, oldest first per incident.
SELECT id, incident_id, status, message, created_at
FROM incident_update
WHERE incident_id = ANY ($1::bigint[])
ORDER BY incident_id, id

-- public_page_days --
-- Targets $1's daily rollup rows over the $2 UTC days that end today, as arrays per target:
-- the day (0 is the first of the $2 days), the ratio of passing checks (maintenance left out;
-- NULL without checks), counted checks, checks in maintenance. Days without a row have no
-- checks (uptime_core/public_status.py fills them).
SELECT target_id,
       array_agg(((date_part('epoch', bucket_start) - date_part('epoch', first_day))
                  / 86400)::int) AS day,
       array_agg((up + degraded)::float8 / nullif(up + degraded + down, 0)) AS ratio,
       array_agg(up + degraded + down) AS counted,
       array_agg(maintenance) AS maintenance
FROM (SELECT date_trunc('day', now(), 'UTC') - make_interval(hours => 24 * ($2 - 1))
             AS first_day) AS d
JOIN check_rollup_daily
  ON target_id = ANY ($1::bigint[]) AND bucket_start >= d.first_day
GROUP BY target_id

-- public_page_incident_spans --
-- When targets $1 were in incidents during the $2 UTC days that end today (an open one until
-- now), and the first of those days.
SELECT i.target_id, i.started_at, coalesce(i.resolved_at, now()) AS ended_at, d.first_day
FROM (SELECT date_trunc('day', now(), 'UTC') - make_interval(hours => 24 * ($2 - 1))
             AS first_day) AS d
LEFT JOIN incident AS i
  ON i.target_id = ANY ($1::bigint[]) AND coalesce(i.resolved_at, now()) >= d.first_day

-- public_page_incidents --
-- Incidents of targets $1 open at some time in the last $2 days, newest first, $3 at most.
SELECT id, target_id, started_at, resolved_at
FROM incident
WHERE target_id = ANY ($1::bigint[])
  AND coalesce(resolved_at, now()) >= now() - make_interval(days => $2)
ORDER BY started_at DESC, id DESC
LIMIT $3
