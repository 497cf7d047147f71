"""Process plumbing both processes share: settings, the database (pools, the embedded server,
migrations), readiness, stop signals and the Prometheus text format. Nothing here knows about
targets or checks; keep this package's ``__init__`` empty, so importing one module stays light
(``uptime_cli.entry`` imports ``signals`` before anything heavy)."""
