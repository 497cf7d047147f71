-- Statistics (uptime_core/stats/). Their big statements are composed in Python (histogram
-- columns, percentile placement) and printed whole to docs/sql/ by `make sql`; these are the
-- small static ones around them.

-- use_generic_plan --
-- For the rest of the transaction, plan prepared statements once for any arguments (the
-- uptime statement takes longer to plan than to run, and its best plan hardly depends on them).
SET LOCAL plan_cache_mode = force_generic_plan

-- lock_rollups --
-- Hold off the record statement's rollup upserts while a rebuild replaces the rollups.
LOCK TABLE check_rollup_hourly, check_rollup_daily, check_histogram_hourly, check_histogram_daily
    IN SHARE ROW EXCLUSIVE MODE
