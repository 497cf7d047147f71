"""Live events: from a worker's NOTIFY to the ``next`` messages of every subscription.

- ``listener``: ``LiveEvents``, one LISTEN connection per API process (reconnected with
  backoff), and the dispatch of each parsed event (``uptime_core.events.parse``) to the
  subscribers that follow it.
- ``fanout``: ``Subscriber`` (a bounded queue), ``BatchGroup`` (checksCompleted's batches) and
  ``shared_check`` (the one ``Check`` per row).
- ``shared_execution``: ``ExecutionContext`` (each event's selection executed once) and
  ``SharedTexts`` (each result's JSON text encoded once), used by ``schema`` and ``app``.

The identity contract. Every subscriber that follows an event is handed the same object for
it, and every subscriber that sent the same query text runs the same parsed document; so
there is one execution result, and one JSON text, per event and query (and variable values):

1. One object per event. The listener reads the rows a notification names once and offers
   each ``CheckRow`` (each ``StatusChange``), one object, to every interested subscriber.
   ``fanout.shared_check`` turns a row into one ``Check`` for every checkCompleted
   subscriber; a ``BatchGroup`` hands the same batch list to every checksCompleted member
   with the same targets and delay.
2. One parsed document per query text: Strawberry's ``ParserCache`` (``schema``).
3. One result per (event, document, variables): ``shared_execution.ExecutionContext``.
4. One JSON text per result: ``shared_execution.SharedTexts``, which ``app.Router.encode_json``
   calls; only the message id is spliced in per subscriber.

Each step's cache is keyed by the identity (``id()``) of the object the step before handed out,
and holds that object so that its id is not reused while it is cached. Losing an identity is
never wrong, only slow: a copied event (a ``Check`` made per subscriber, a batch rebuilt per
member) misses the caches after it, and each subscriber executes and encodes its own. That is
what bench/live.py measures (500 subscriptions of one process: before shared execution, 10
targets each reached p99 1.2 s and 20 each lost a third of their events; docs/scaling.md), and
what ``ExecutionContext.shared`` counts in tests/graphql/test_checks_completed.py. Sharing is
safe because what a subscription selects depends on the event, the document and the variables,
never on who asks (auth is one token, checked when the connection opens).

Subscriptions whose events are made per subscriber share nothing, by design: targetStatusChanged
reads the target anew for each, uptimeChanged computes each subscription's own value, and a
checksCompleted member that fell behind merges what waits into a list of its own.
"""
