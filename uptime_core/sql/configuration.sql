-- Monitors as code: what `uptime apply` needs beside the statements of each object's own
-- concept (uptime_core/configuration/apply.py).

-- configuration_lock --
-- One apply at a time: held to the end of the applying transaction, so a second apply plans
-- against what the first one wrote, never against a mix.
SELECT pg_advisory_xact_lock(hashtextextended('uptime.configuration.apply', 0))

-- configuration_target_ids --
-- Every target, to compare with the document.
SELECT id FROM target ORDER BY id

-- spread_first_slots --
-- The next slots of targets $1 (created or rescheduled together by one apply, in document
-- order) evenly over each one's interval from now, instead of within a second or so as for
-- one target alone: a big import then runs at its steady rate from the start, and keeps that
-- phase. Paused targets have no slot and keep none.
UPDATE target AS t
SET next_run_at = now() + make_interval(
        secs => t.interval_seconds * (s.position - 1)::float8 / s.total)
FROM (SELECT id, row_number() OVER (ORDER BY n) AS position, count(*) OVER () AS total
      FROM unnest($1::bigint[]) WITH ORDINALITY AS u(id, n)) AS s
WHERE t.id = s.id AND NOT t.paused
