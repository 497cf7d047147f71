"""What a message says: a delivery rendered as a title, a few lines of text and a JSON document."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from uptime_core.alerting.outbox import ClaimedDelivery


@dataclass(frozen=True)
class Message:
    """A delivery rendered: a one-line title, a few lines of text, and the JSON document."""

    title: str
    text: str
    document: dict[str, Any]


def format_duration(seconds: float) -> str:
    """``3 h 2 min 5 s``, ``45 s``."""
    whole = round(seconds)
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{days} d" if days else "", f"{hours} h" if hours else ""]
    parts += [f"{minutes} min" if minutes else "", f"{secs} s" if secs or not whole else ""]
    return " ".join(p for p in parts if p)


def render(delivery: ClaimedDelivery) -> Message:
    """The message for a delivery, from the snapshot written with it."""
    payload = delivery.payload
    document: dict[str, Any] = {
        "event": delivery.event,
        "idempotency_key": delivery.idempotency_key,
        "channel": {"id": delivery.channel_id, "name": delivery.channel_name},
    }
    if delivery.event == "test":
        title = f"[uptime] test message for channel {delivery.channel_name}"
        text = "This is a test message from uptime: this channel works."
        document["text"] = text
        return Message(title, text, document)
    target, incident = payload["target"], payload["incident"]
    name, cause = target["name"], incident.get("cause") or "unknown cause"
    duration = format_duration(incident["duration_seconds"])
    if delivery.event == "resolved":
        title = f"[uptime] RESOLVED: {name} is up again after {duration}"
        text = (
            f"{name} is up again. It was down for {duration}, "
            f"from {incident['started_at']} to {incident['resolved_at']} (cause: {cause})."
        )
    elif delivery.event == "reminder":
        title = f"[uptime] STILL DOWN: {name}, down for {duration}"
        text = f"{name} is still down, for {duration} now, since {incident['started_at']}: {cause}"
    else:
        title = f"[uptime] DOWN: {name}: {cause}"
        text = f"{name} is down since {incident['started_at']}: {cause}"
    document.update(target=target, incident=incident, text=text)
    if delivery.event == "reminder":
        document["reminder"] = payload.get("reminder")
    return Message(title, text, document)
