-- Maintenance windows as the API manages them (uptime_core/maintenance.py). The reads are
-- composed there: they test "active now" with covers_sql, as the record statement and the
-- statistics test their instants, so that all three read a window the same way.

-- target_exists --
SELECT EXISTS (SELECT 1 FROM target WHERE id = $1)

-- time_zone_exists --
-- The database knows time zone $1 (the record statement reads windows in every batch: a zone
-- it cannot read would stop all recording).
SELECT EXISTS (SELECT 1 FROM pg_timezone_names WHERE name = $1)

-- insert_window --
-- A NULL key $2 is derived from the name by the trigger derive_key (migration 0005).
INSERT INTO maintenance_window (name, key, target_id, kind, starts_at, ends_at, weekdays,
                                local_start, duration_seconds, time_zone)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
RETURNING id

-- update_window --
-- Replace window $1's settings with $2 .. $11 (insert_window's columns, in that order).
UPDATE maintenance_window
SET (name, key, target_id, kind, starts_at, ends_at, weekdays, local_start, duration_seconds,
     time_zone) = ($2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
WHERE id = $1

-- delete_window --
DELETE FROM maintenance_window WHERE id = $1
