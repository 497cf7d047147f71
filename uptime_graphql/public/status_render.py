"""A public status page as one HTML document: no script, no font, no image, nothing from any
other host; a small inline stylesheet that reads at 375 px as at 1280 px. Every text from the
database goes through ``html.escape``."""

from __future__ import annotations

import functools
import math
from datetime import UTC, date, datetime
from html import escape

from uptime_core.enums import UptimeWindow
from uptime_core.public_status import Day, PublicIncident, PublicPage, PublicTarget

STATUS_LABELS = {
    "up": "Operational",
    "degraded": "Degraded",
    "down": "Down",
    "pending": "Checking",
    "paused": "Paused",
    "unknown": "No data",
    "maintenance": "Maintenance",
}
SUMMARY_LABELS = {
    "up": "All systems operational",
    "degraded": "Some systems are degraded",
    "down": "Some systems are down",
    "maintenance": "Maintenance in progress",
    "unknown": "No data yet",
}
UPDATE_LABELS = {
    "investigating": "Investigating",
    "identified": "Identified",
    "monitoring": "Monitoring",
    "resolved": "Resolved",
}
WINDOW_LABELS = {
    UptimeWindow.LAST_HOUR.name: "1 hour",
    UptimeWindow.LAST_24_HOURS.name: "24 hours",
    UptimeWindow.LAST_7_DAYS.name: "7 days",
    UptimeWindow.LAST_30_DAYS.name: "30 days",
    UptimeWindow.LAST_90_DAYS.name: "90 days",
}

STYLE = """
:root{--up:#1a7f37;--degraded:#b35900;--down:#cf222e;--none:#d0d7de;--maint:#0969da;
--fg:#1f2328;--muted:#59636e;--line:#d8dee4;--bg:#fff;--panel:#f6f8fa}
*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
color:var(--fg);background:var(--bg)}
main{max-width:960px;margin:0 auto;padding:24px 16px 48px}
h1{font-size:1.75rem;margin:0 0 4px;overflow-wrap:anywhere}
h2{font-size:1.2rem;margin:32px 0 8px}
h3{font-size:1rem;margin:0}
.desc{color:var(--muted);margin:0 0 16px}
.summary{padding:14px 16px;border-radius:8px;color:#fff;font-weight:600;margin:16px 0}
.summary.s-up{background:var(--up)}.summary.s-degraded{background:var(--degraded)}
.summary.s-down{background:var(--down)}.summary.s-maintenance{background:var(--maint)}
.summary.s-unknown{background:var(--muted)}
ul.targets{list-style:none;margin:0;padding:0;border:1px solid var(--line);border-radius:8px}
li.target{padding:12px 16px;border-top:1px solid var(--line)}
li.target:first-child{border-top:0}
.row{display:flex;flex-wrap:wrap;justify-content:space-between;gap:4px 12px}
.name{font-weight:600;overflow-wrap:anywhere}
.status{font-weight:600}
.status.s-up{color:var(--up)}
.status.s-degraded,.status.s-pending{color:var(--degraded)}
.status.s-down{color:var(--down)}.status.s-maintenance{color:var(--maint)}
.status.s-paused,.status.s-unknown{color:var(--muted)}
.figures{display:flex;flex-wrap:wrap;gap:2px 16px;color:var(--muted);font-size:.875rem}
.figures b{color:var(--fg);font-weight:600}
.bars{display:flex;gap:1px;height:28px;margin:8px 0 2px}
.bars i{flex:1 1 0;min-width:0;border-radius:1px;background:var(--none)}
.bars i.u{background:var(--up)}.bars i.p{background:var(--degraded)}
.bars i.d{background:var(--down)}.bars i.m{background:var(--maint)}
.axis{display:flex;justify-content:space-between;color:var(--muted);font-size:.75rem}
.incident,.window{border:1px solid var(--line);border-radius:8px;padding:12px 16px;
margin:0 0 12px;background:var(--panel)}
.when{color:var(--muted);font-size:.875rem;margin:2px 0 0}
ol.updates{list-style:none;margin:8px 0 0;padding:0}
ol.updates li{border-left:3px solid var(--line);padding:2px 0 2px 10px;margin:6px 0}
ol.updates p{margin:2px 0 0;white-space:pre-wrap;overflow-wrap:anywhere}
.none{color:var(--muted)}
footer{margin-top:40px;color:var(--muted);font-size:.875rem}
footer a{color:inherit}
@media (max-width:480px){main{padding:16px 12px 32px}h1{font-size:1.4rem}
.bars{height:24px;gap:0.5px}}
"""


def percent(ratio: float | None) -> str:
    """A ratio as a percentage that never rounds up to 100 % (99.999 % is "99.99 %")."""
    if ratio is None:
        return "no data"
    if ratio >= 1:
        return "100 %"
    return f"{math.floor(ratio * 10000) / 100:.2f} %"


def when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _time(moment: datetime) -> str:
    iso = moment.astimezone(UTC).isoformat()
    return f'<time datetime="{iso}">{when(moment)}</time>'


def bar_class(day: Day) -> str:
    """u: all passing and no incident; p: some failures (under 1 in 1,000) or an incident;
    d: more; m: only maintenance; none: no data."""
    if day.ratio is None:
        return "m" if day.maintenance else ""
    if day.ratio < 0.99:
        return "d"
    if day.ratio < 0.999 or day.incident:
        return "p"
    return "u"


@functools.lru_cache(maxsize=512)
def day_label(day: date) -> str:
    return day.isoformat()


def _bars(days: list[Day]) -> str:
    """The bars of one target: ``bar_class`` and a tooltip each, in one loop (a page of 200
    targets has 18,000 of them: a function call or two less per bar is a tenth of a cold
    page's time)."""
    parts = []
    for day in days:
        ratio = day.ratio
        label = day_label(day.day)
        if ratio is None:
            css = " class=m" if day.maintenance else ""
            text = "maintenance" if day.maintenance else "no data"
        else:
            if ratio < 0.99:
                css = " class=d"
            elif ratio < 0.999 or day.incident:
                css = " class=p"
            else:
                css = " class=u"
            text = "100 %" if ratio >= 1 else f"{math.floor(ratio * 10000) / 100:.2f} %"
        if day.incident:
            text += ", incident"
        parts.append(f'<i{css} title="{label}: {text}"></i>')
    return "".join(parts)


def _target(target: PublicTarget, page: PublicPage) -> str:
    figures = [
        f"<span>{WINDOW_LABELS[f.window]}: <b>{percent(f.ratio)}</b></span>" for f in target.windows
    ]
    if page.show_latency:
        latency = "no data" if target.latency_avg_ms is None else f"{target.latency_avg_ms:.0f} ms"
        figures.append(f"<span>latency (24 h avg): <b>{latency}</b></span>")
    name = escape(target.name)
    bars = _bars(target.days)
    return (
        f'<li class="target" data-status="{target.status}">'
        f'<div class="row"><span class="name">{name}</span>'
        f'<span class="status s-{target.status}">{STATUS_LABELS[target.status]}</span></div>'
        + (f'<div class="figures">{"".join(figures)}</div>' if figures else "")
        + f'<div class="bars" role="img" aria-label="{name}: uptime per day, the last '
        f'{len(target.days)} days">{bars}</div>'
        f'<div class="axis"><span>{len(target.days)} days ago</span><span>today</span></div>'
        "</li>"
    )


def _incident(incident: PublicIncident) -> str:
    status = UPDATE_LABELS[incident.status]
    times = f"Started {_time(incident.started_at)}"
    if incident.resolved_at is not None:
        times += f" · resolved {_time(incident.resolved_at)}"
    updates = "".join(
        f'<li class="update" data-status="{u.status}"><b>{UPDATE_LABELS[u.status]}</b> '
        f"{_time(u.at)}<p>{escape(u.message)}</p></li>"
        for u in incident.updates
    )
    return (
        f'<article class="incident" id="incident-{incident.ref}">'
        f"<h3>{escape(incident.target)}: {status}</h3>"
        f'<p class="when">{times}</p>'
        + (f'<ol class="updates">{updates}</ol>' if updates else "")
        + "</article>"
    )


def _maintenance(page: PublicPage) -> str:
    if not page.maintenance:
        return ""
    items = []
    for window in page.maintenance:
        covers = ", ".join(escape(n) for n in window.targets) or "all services"
        state = "In progress" if window.active else "Scheduled"
        span = ""
        if window.starts_at is not None and window.ends_at is not None:
            span = f"{_time(window.starts_at)} to {_time(window.ends_at)}"
        if window.weekly:
            span += " (every week)"
        items.append(
            f'<article class="window" data-active="{str(window.active).lower()}">'
            f"<h3>{escape(window.name)}</h3>"
            f'<p class="when">{state}: {span} · {covers}</p></article>'
        )
    return f'<section id="maintenance"><h2>Scheduled maintenance</h2>{"".join(items)}</section>'


def render_html(page: PublicPage, base: str) -> str:
    """The page; ``base`` is the path of its routes (``/status/{slug}``)."""
    title = escape(page.title)
    groups = "".join(
        f'<section class="group"><h2>{escape(g.name)}</h2>'
        + (
            f'<ul class="targets">{"".join(_target(t, page) for t in g.targets)}</ul>'
            if g.targets
            else '<p class="none">No services in this group.</p>'
        )
        + "</section>"
        for g in page.groups
    )
    incidents = "".join(_incident(i) for i in page.incidents)
    if not incidents:
        incidents = '<p class="none">No incidents in the last 90 days.</p>'
    description = f'<p class="desc">{escape(page.description)}</p>' if page.description else ""
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{title}</title>"
        f'<link rel="alternate" type="application/atom+xml" title="{title}" '
        f'href="{base}/feed.atom">'
        f'<link rel="alternate" type="application/rss+xml" title="{title}" '
        f'href="{base}/feed.rss">'
        f"<style>{STYLE}</style></head><body><main>"
        f"<header><h1>{title}</h1>{description}</header>"
        f'<p class="summary s-{page.status}" id="summary">{SUMMARY_LABELS[page.status]}</p>'
        + _maintenance(page)
        + f'<div id="groups">{groups}</div>'
        f'<section id="incidents"><h2>Incidents</h2>{incidents}</section>'
        f"<footer><p>Updated {_time(page.generated_at)}. Subscribe: "
        f'<a href="{base}/feed.atom">Atom</a> · <a href="{base}/feed.rss">RSS</a> · '
        f'<a href="{base}.json">JSON</a></p></footer>'
        "</main></body></html>"
    )
