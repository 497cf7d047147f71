"""A public status page as JSON, Atom and RSS: the same figures as the HTML page. The feeds
hold one entry per incident (its updates in the order posted), written with ``xml.etree`` so
that every text is escaped."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any
from xml.etree import ElementTree as ET

from uptime_core.public_status import PublicIncident, PublicPage
from uptime_graphql.public.status_render import UPDATE_LABELS, day_label, when

ATOM = "http://www.w3.org/2005/Atom"


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat()


def page_json(page: PublicPage, base: str) -> dict[str, Any]:
    """The page as JSON (camelCase, as the GraphQL API spells fields)."""
    return {
        "slug": page.slug,
        "title": page.title,
        "description": page.description,
        "status": page.status,
        "generatedAt": _iso(page.generated_at),
        "showLatency": page.show_latency,
        "windows": page.windows,
        "links": {"html": base, "atom": f"{base}/feed.atom", "rss": f"{base}/feed.rss"},
        "groups": [
            {
                "name": group.name,
                "targets": [
                    {
                        "name": target.name,
                        "status": target.status,
                        "uptime": [
                            {"window": f.window, "ratio": f.ratio, "coverage": f.coverage}
                            for f in target.windows
                        ],
                        **(
                            {
                                "latency": {
                                    "window": "LAST_24_HOURS",
                                    "avgMs": target.latency_avg_ms,
                                }
                            }
                            if page.show_latency
                            else {}
                        ),
                        "days": [
                            {
                                "date": day_label(day.day),
                                "ratio": day.ratio,
                                "checks": day.checks,
                                "maintenance": day.maintenance,
                                "incident": day.incident,
                            }
                            for day in target.days
                        ],
                    }
                    for target in group.targets
                ],
            }
            for group in page.groups
        ],
        "incidents": [
            {
                "id": incident.ref,
                "target": incident.target,
                "status": incident.status,
                "startedAt": _iso(incident.started_at),
                "resolvedAt": _iso(incident.resolved_at),
                "updates": [
                    {"status": u.status, "message": u.message, "at": _iso(u.at)}
                    for u in incident.updates
                ],
            }
            for incident in page.incidents
        ],
        "maintenance": [
            {
                "name": window.name,
                "active": window.active,
                "startsAt": _iso(window.starts_at),
                "endsAt": _iso(window.ends_at),
                "recurring": "weekly" if window.weekly else None,
                "targets": window.targets,
            }
            for window in page.maintenance
        ],
    }


def render_json(page: PublicPage, base: str) -> str:
    return json.dumps(page_json(page, base), separators=(",", ":"), ensure_ascii=False)


def entry_title(incident: PublicIncident) -> str:
    return f"{incident.target}: {UPDATE_LABELS[incident.status]}"


def entry_text(incident: PublicIncident) -> str:
    """An incident as plain text: when, then each update, oldest first."""
    lines = [f"Started {when(incident.started_at)}."]
    if incident.resolved_at is not None:
        lines.append(f"Resolved {when(incident.resolved_at)}.")
    for update in incident.updates:
        lines.append(f"{UPDATE_LABELS[update.status]} ({when(update.at)}): {update.message}")
    return "\n".join(lines)


def _updated(page: PublicPage) -> datetime:
    return max([i.updated_at for i in page.incidents], default=page.generated_at)


def _text(parent: ET.Element, tag: str, text: str, **attributes: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attributes)
    element.text = text
    return element


def render_atom(page: PublicPage, page_url: str) -> bytes:
    """An Atom feed; ``page_url`` is the page's absolute URL (the feed's id)."""
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")
    _text(feed, f"{{{ATOM}}}id", page_url)
    _text(feed, f"{{{ATOM}}}title", page.title)
    if page.description:
        _text(feed, f"{{{ATOM}}}subtitle", page.description)
    _text(feed, f"{{{ATOM}}}updated", _updated(page).astimezone(UTC).isoformat())
    ET.SubElement(feed, f"{{{ATOM}}}link", {"rel": "alternate", "href": page_url})
    ET.SubElement(feed, f"{{{ATOM}}}link", {"rel": "self", "href": f"{page_url}/feed.atom"})
    author = ET.SubElement(feed, f"{{{ATOM}}}author")
    _text(author, f"{{{ATOM}}}name", page.title)
    for incident in page.incidents:
        entry = ET.SubElement(feed, f"{{{ATOM}}}entry")
        _text(entry, f"{{{ATOM}}}id", f"{page_url}#incident-{incident.ref}")
        _text(entry, f"{{{ATOM}}}title", entry_title(incident))
        _text(entry, f"{{{ATOM}}}published", incident.started_at.astimezone(UTC).isoformat())
        _text(entry, f"{{{ATOM}}}updated", incident.updated_at.astimezone(UTC).isoformat())
        ET.SubElement(
            entry,
            f"{{{ATOM}}}link",
            {"rel": "alternate", "href": f"{page_url}#incident-{incident.ref}"},
        )
        _text(entry, f"{{{ATOM}}}content", entry_text(incident), type="text")
    return bytes(ET.tostring(feed, encoding="utf-8", xml_declaration=True))


def render_rss(page: PublicPage, page_url: str) -> bytes:
    """An RSS 2.0 feed of the same entries."""
    rss = ET.Element("rss", {"version": "2.0"})
    channel = ET.SubElement(rss, "channel")
    _text(channel, "title", page.title)
    _text(channel, "link", page_url)
    _text(channel, "description", page.description or page.title)
    _text(channel, "lastBuildDate", format_datetime(_updated(page).astimezone(UTC)))
    for incident in page.incidents:
        item = ET.SubElement(channel, "item")
        _text(item, "title", entry_title(incident))
        _text(item, "link", f"{page_url}#incident-{incident.ref}")
        _text(item, "guid", f"{page_url}#incident-{incident.ref}", isPermaLink="false")
        _text(item, "pubDate", format_datetime(incident.updated_at.astimezone(UTC)))
        _text(item, "description", entry_text(incident))
    return bytes(ET.tostring(rss, encoding="utf-8", xml_declaration=True))
