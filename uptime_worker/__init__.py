"""The worker: claims due targets from PostgreSQL, probes them, records the results."""
