-- Daily partitions of check_result (uptime_core/retention.py). Creating and dropping one
-- names the partition, so those two statements are composed there.

-- partition_names --
-- The names of check_result's partitions.
SELECT c.relname
FROM pg_inherits AS i
JOIN pg_class AS c ON c.oid = i.inhrelid
WHERE i.inhparent = 'check_result'::regclass

-- utc_today --
-- Today's date in UTC, on the database clock.
SELECT (now() AT TIME ZONE 'UTC')::date

-- try_partition_lock --
-- Take the session advisory lock $1 if no other session holds it; whether it was taken.
SELECT pg_try_advisory_lock($1)

-- release_partition_lock --
SELECT pg_advisory_unlock($1)
