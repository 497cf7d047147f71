"""Badges of public targets, as SVG in shields.io's flat look, for READMEs and wikis.

- ``/badge/{key}/status.svg``: the target's name and its confirmed state (up, degraded, down,
  pending, paused, unknown);
- ``/badge/{key}/uptime/{24h|7d|30d|90d}.svg``: the share of passing checks over the window,
  two decimals, or "no data";
- ``/badge/{key}/latency.svg``: the average latency over the last 24 hours.

No token: only targets marked ``public`` have badges. An unknown key, a private target and an
unknown window get the same 404, so a badge URL never tells whether a private key exists.
Every answer may be cached for a minute.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from uptime_core.badges import (
    BADGE_WINDOWS,
    LATENCY_WINDOW,
    BadgeTarget,
    badge_uptime,
    public_target,
)
from uptime_core.enums import TargetStatus
from uptime_graphql.public.badge_svg import render_badge

router = APIRouter()

CACHE_CONTROL = "public, max-age=60"

STATUS_COLOURS = {
    TargetStatus.UP: "brightgreen",
    TargetStatus.DEGRADED: "yellow",
    TargetStatus.DOWN: "red",
}

# (lowest percentage, colour), best first; below the last: red.
UPTIME_COLOURS = [
    (99.9, "brightgreen"),
    (99.0, "green"),
    (97.0, "yellowgreen"),
    (95.0, "yellow"),
    (90.0, "orange"),
]

# (below this many ms, colour); from the last on: red.
LATENCY_COLOURS = [(200.0, "brightgreen"), (500.0, "green"), (1000.0, "yellow"), (2000.0, "orange")]


def _svg(label: str, message: str, colour: str) -> Response:
    return Response(
        render_badge(label, message, colour),
        media_type="image/svg+xml",
        headers={"Cache-Control": CACHE_CONTROL},
    )


def _not_found() -> Response:
    return Response(
        "no such badge\n",
        status_code=404,
        media_type="text/plain",
        headers={"Cache-Control": CACHE_CONTROL},
    )


async def _target(request: Request, key: str) -> BadgeTarget | None:
    return await public_target(request.app.state.pool, key)


def status_message(target: BadgeTarget) -> tuple[str, str]:
    """The message and colour of a status badge."""
    status = TargetStatus.PAUSED if target.paused else TargetStatus(target.status)
    return status.value, STATUS_COLOURS.get(status, "lightgrey")


def uptime_message(ratio: float | None) -> tuple[str, str]:
    if ratio is None:
        return "no data", "lightgrey"
    percent = ratio * 100
    colour = next((c for floor, c in UPTIME_COLOURS if percent >= floor), "red")
    return f"{percent:.2f}%", colour


def latency_message(milliseconds: float | None) -> tuple[str, str]:
    if milliseconds is None:
        return "no data", "lightgrey"
    colour = next((c for below, c in LATENCY_COLOURS if milliseconds < below), "red")
    if milliseconds >= 1000:
        return f"{milliseconds / 1000:.2f} s", colour
    return f"{milliseconds:.0f} ms", colour


@router.get("/badge/{key}/status.svg", include_in_schema=False)
async def status_badge(request: Request, key: str) -> Response:
    target = await _target(request, key)
    if target is None:
        return _not_found()
    return _svg(target.name, *status_message(target))


@router.get("/badge/{key}/uptime/{window}.svg", include_in_schema=False)
async def uptime_badge(request: Request, key: str, window: str) -> Response:
    if window not in BADGE_WINDOWS:
        return _not_found()
    target = await _target(request, key)
    if target is None:
        return _not_found()
    uptime = await badge_uptime(request.app.state.pool, target.id, BADGE_WINDOWS[window])
    return _svg(f"uptime {window}", *uptime_message(uptime.ratio if uptime else None))


@router.get("/badge/{key}/latency.svg", include_in_schema=False)
async def latency_badge(request: Request, key: str) -> Response:
    target = await _target(request, key)
    if target is None:
        return _not_found()
    uptime = await badge_uptime(request.app.state.pool, target.id, LATENCY_WINDOW)
    average = uptime.latency.avg_ms if uptime is not None and uptime.latency else None
    return _svg("latency 24h", *latency_message(average))
