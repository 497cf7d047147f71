"""Statistics, computed in SQL: ``histogram`` (latency buckets and percentile placement, the
floor the others stand on), ``rollups`` (hourly and daily counts, and their rebuild),
``uptime`` (ratio, coverage, downtime and percentiles of any window) and ``series`` (latency
over time in equal buckets)."""
