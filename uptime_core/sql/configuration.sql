-- Monitors as code: what `uptime apply` needs beside the statements of each object's own
-- concept (uptime_core/configuration/apply.py).

-- configuration_lock --
-- One apply at a time: held to the end of the applying transaction, so a second apply plans
-- against what the first one wrote, never against a mix.
SELECT pg_advisory_xact_lock(hashtextextended('uptime.configuration.apply', 0))

-- configuration_target_ids --
-- Every target, to compare with the document.
SELECT id FROM target ORDER BY id
