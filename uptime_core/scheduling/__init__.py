"""Scheduling: slots, leases and exactly one recorded result per slot (docs/architecture.md).

``claim`` leases due slots to a worker; ``record`` completes them in one fenced statement. Any
number of workers run side by side because both are single statements on the database clock.
"""
