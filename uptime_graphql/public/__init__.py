"""The plain HTTP routes beside GraphQL: status pages (``status.py``), badges (``badges.py``)
and the Prometheus exposition (``metrics.py``). Each module has a ``router`` that
``app.create_app`` includes."""
