"""The ``uptime`` command (run, api, worker, migrate, stats): the one package above the API and
the worker. ``entry`` is the console script, ``commands`` parses and runs a command,
``supervisor`` keeps ``uptime run``'s children (and the embedded PostgreSQL) running. Nothing in
``uptime_core``, ``uptime_graphql`` or ``uptime_worker`` imports it."""
