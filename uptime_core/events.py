"""The events recording announces to live views: the channel and its payloads.

The record statement (``uptime_core.scheduling.record``, its ``events`` CTE) sends, on
``EVENTS_CHANNEL``, in the transaction that records them, one JSON object per notification:

- ``{"checks": [[target_id, slot], ...]}``: results recorded (at most 100 a notification, as
  NOTIFY payloads stop at 8000 bytes; a batch may send several); ``slot`` is the result's
  ``scheduled_for``, a timestamptz as PostgreSQL's JSON writes it. Read as ``ChecksRecorded``.
- ``{"changes": [[target_id, previous, current, slot], ...]}``: confirmed state changes (one
  notification a batch, only when something changed); ``previous`` and ``current`` are
  ``TargetStatus`` values and ``slot`` is that of the check that confirmed the change. Read as
  ``StatusChanged``.

The API's listener (``uptime_graphql/live/listener.py``) reads them with ``parse``. The
payloads name rows (keys), never carry them: a listener reads what it needs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

# The channel on which recording announces new results and state changes.
EVENTS_CHANNEL = "uptime_events"


@dataclass(frozen=True, slots=True)
class ChecksRecorded:
    """``{"checks": ...}``: the (target id, slot) of each result recorded."""

    checks: tuple[tuple[int, datetime], ...]


@dataclass(frozen=True)
class StatusChange:
    """One entry of ``{"changes": ...}``: a target's confirmed state moved from ``previous``
    to ``current`` at the slot ``at``."""

    target_id: int
    previous: str
    current: str
    at: datetime


@dataclass(frozen=True, slots=True)
class StatusChanged:
    """``{"changes": ...}``: the state changes of one recorded batch."""

    changes: tuple[StatusChange, ...]


Event = ChecksRecorded | StatusChanged


def parse(payload: str) -> tuple[Event, ...]:
    """The events of one notification's payload, ``checks`` before ``changes``.

    What the record statement sends holds exactly one. An object with neither key (a kind a
    later release may add) holds none: it is not an error. Raises ``ValueError`` for a
    payload that is not such an object, or whose entries are not of the shapes above."""
    try:
        event = json.loads(payload)
        if not isinstance(event, dict):
            raise ValueError("an event is a JSON object")
        events: list[Event] = []
        if "checks" in event:
            events.append(ChecksRecorded(tuple(_check(entry) for entry in event["checks"])))
        if "changes" in event:
            events.append(StatusChanged(tuple(_change(entry) for entry in event["changes"])))
        return tuple(events)
    except (KeyError, TypeError) as error:
        raise ValueError(f"malformed event: {error}") from error


def _check(entry: Any) -> tuple[int, datetime]:
    target_id, slot = entry
    return int(target_id), datetime.fromisoformat(slot)


def _change(entry: Any) -> StatusChange:
    target_id, previous, current, slot = entry
    if not isinstance(previous, str) or not isinstance(current, str):
        raise ValueError("a change's states are strings")
    return StatusChange(int(target_id), previous, current, datetime.fromisoformat(slot))
