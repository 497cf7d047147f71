"""Alerting: ``channels`` (where to send, validated and stored), ``outbox`` (the deliveries the
record statement writes and the deliverers claim and settle), ``messages`` (what a delivery
says) and ``send`` (one attempt over HTTP or SMTP, under the address policy). The worker's
deliverers (``uptime_worker/deliver.py``) only call these functions; docs/alerting.md has the
semantics."""
