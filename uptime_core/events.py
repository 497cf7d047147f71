"""The events recording announces to live views: the channel and its payloads.

The record statement (``uptime_core.scheduling.record``) sends, on ``EVENTS_CHANNEL``, in the
transaction that records them, ``{"checks": [[target_id, slot], ...]}`` for recorded results
and ``{"changes": [...]}`` for state changes; the API's listener
(``uptime_graphql/live/listener.py``) reads them.
"""

from __future__ import annotations

# The channel on which recording announces new results and state changes.
EVENTS_CHANNEL = "uptime_events"
