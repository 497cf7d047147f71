"""What a public status page shows: only names and figures, read in a handful of statements.

For a page's targets: each target's name and public status (its state, or ``maintenance``
while a window covers it now), uptime over the page's windows (``stats.uptime``, one query for
all targets and windows), 90 daily bars from the daily rollup (the ratio of passing checks as
``stats.uptime`` counts it, (up + degraded) / (up + degraded + down), checks in maintenance
left out, ``None`` without checks; and whether an incident overlapped the UTC day), the
average latency over the last 24 hours when the page shows latency; the incidents of its
targets open at some time in the last 90 days with operators' updates in the order posted;
and its targets' maintenance windows that are active or to come (a weekly one as its current
or next occurrence). Never a URL, host, option, error message or cause, nor an internal id: an
incident is named by a digest (``ref``).

The statements run side by side on the pool's connections (``asyncio.gather``), so a page
costs about its slowest statement, not their sum.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import asyncpg

from uptime_core.enums import UptimeWindow
from uptime_core.maintenance import covers_sql, in_maintenance_sql
from uptime_core.sql import queries
from uptime_core.stats.uptime import Uptime, Window, uptime_for_targets
from uptime_core.status_pages import IncidentUpdateRow, StatusPageRow, incident_updates

DAYS = 90
MAX_INCIDENTS = 100
MAX_MAINTENANCE = 50
LATENCY_WINDOW = UptimeWindow.LAST_24_HOURS
ONE_DAY = timedelta(days=1)


@dataclass(slots=True)
class Day:
    day: date
    ratio: float | None  # passing / counted checks; None without checks
    checks: int  # counted checks (maintenance left out)
    maintenance: int  # checks recorded inside maintenance windows
    incident: bool  # an incident of the target overlapped the day


@dataclass(frozen=True)
class WindowFigure:
    window: str  # an UptimeWindow name
    ratio: float | None
    coverage: float


@dataclass(frozen=True)
class PublicTarget:
    name: str
    status: str  # up, degraded, down, pending, paused, unknown or maintenance
    windows: list[WindowFigure]
    days: list[Day]
    latency_avg_ms: float | None = None


@dataclass(frozen=True)
class PublicGroup:
    name: str
    targets: list[PublicTarget]


@dataclass(frozen=True)
class PublicUpdate:
    status: str  # investigating, identified, monitoring, resolved
    message: str
    at: datetime


@dataclass(frozen=True)
class PublicIncident:
    ref: str  # a digest, stable per page and incident: no internal id
    target: str  # the target's name
    started_at: datetime
    resolved_at: datetime | None
    updates: list[PublicUpdate]

    @property
    def status(self) -> str:
        """The operators' latest word, else resolved or investigating as the checks say."""
        if self.updates:
            return self.updates[-1].status
        return "resolved" if self.resolved_at is not None else "investigating"

    @property
    def updated_at(self) -> datetime:
        times = [self.started_at, *(u.at for u in self.updates)]
        if self.resolved_at is not None:
            times.append(self.resolved_at)
        return max(times)


@dataclass(frozen=True)
class PublicMaintenance:
    name: str
    starts_at: datetime | None
    ends_at: datetime | None
    active: bool
    weekly: bool
    targets: list[str]  # the page's targets it covers; empty: all targets


@dataclass(frozen=True)
class PublicPage:
    slug: str
    title: str
    description: str | None
    show_latency: bool
    windows: list[str]
    generated_at: datetime
    groups: list[PublicGroup]
    incidents: list[PublicIncident]
    maintenance: list[PublicMaintenance]

    @property
    def status(self) -> str:
        """The page's summary: down if any target is, else degraded if any is degraded or
        pending, else maintenance if any is in maintenance, else up (no targets: unknown)."""
        statuses = {t.status for g in self.groups for t in g.targets}
        for summary, members in (
            ("down", {"down"}),
            ("degraded", {"degraded", "pending"}),
            ("maintenance", {"maintenance"}),
            ("up", {"up"}),
        ):
            if statuses & members:
                return summary
        return "unknown"


_TARGETS_SQL = f"""
SELECT t.id, t.name, t.status, {in_maintenance_sql("t.id", "now()")} AS in_maintenance
FROM target AS t
WHERE t.id = ANY ($1::bigint[])
"""

# A ONCE window until it ends; a WEEKLY one as its occurrence that has not ended yet (the
# current one while it is active), looked for a week back and two weeks ahead.
_MAINTENANCE_SQL = f"""
SELECT m.name, m.target_id, m.kind = 'weekly' AS weekly, {covers_sql("m", "now()")} AS active,
       coalesce(m.starts_at, occurrence.lo) AS starts_at,
       coalesce(m.ends_at, occurrence.hi) AS ends_at
FROM maintenance_window AS m
LEFT JOIN LATERAL (
    SELECT start AS lo, start + make_interval(secs => m.duration_seconds) AS hi
    FROM generate_series(-7, 14) AS k(days)
    CROSS JOIN LATERAL (
        SELECT (((now() AT TIME ZONE m.time_zone)::date + k.days) + m.local_start)
               AT TIME ZONE m.time_zone AS start) AS s
    WHERE m.kind = 'weekly'
      AND extract(isodow FROM (now() AT TIME ZONE m.time_zone)::date + k.days)::smallint
          = ANY (m.weekdays)
      AND start + make_interval(secs => m.duration_seconds) > now()
    ORDER BY start
    LIMIT 1) AS occurrence ON true
WHERE (m.target_id IS NULL OR m.target_id = ANY ($1::bigint[]))
  AND (m.kind = 'weekly' OR m.ends_at > now())
ORDER BY coalesce(m.starts_at, occurrence.lo), m.id
LIMIT $2
"""


def incident_ref(slug: str, incident_id: int) -> str:
    """An incident's public name on page ``slug``: a digest, not its id."""
    return hashlib.sha256(f"uptime status page {slug} incident {incident_id}".encode()).hexdigest()[
        :16
    ]


async def _fetch(pool: asyncpg.Pool, sql: str, *arguments: object) -> list[asyncpg.Record]:
    async with pool.acquire() as connection:
        rows: list[asyncpg.Record] = await connection.fetch(sql, *arguments)
    return rows


async def _days(pool: asyncpg.Pool, target_ids: list[int]) -> dict[int, list[Day]]:
    """Each target's ``DAYS`` days, oldest first: its rollup rows, and its incidents' spans
    marked on the days they overlap."""
    rollups, spans = await asyncio.gather(
        _fetch(pool, queries["public_page_days"], target_ids, DAYS),
        _fetch(pool, queries["public_page_incident_spans"], target_ids, DAYS),
    )
    first: datetime = spans[0]["first_day"]
    dates = [(first + timedelta(days=n)).date() for n in range(DAYS)]
    incident_days: dict[int, set[int]] = {}
    for span in spans:
        if span["target_id"] is not None:
            low = max(0, (span["started_at"] - first) // ONE_DAY)
            high = min(DAYS - 1, (span["ended_at"] - first) // ONE_DAY)
            incident_days.setdefault(span["target_id"], set()).update(range(low, high + 1))
    rows = {row["target_id"]: row for row in rollups}
    answer: dict[int, list[Day]] = {}
    for target_id in target_ids:
        marked = incident_days.get(target_id, set())
        ratios: list[float | None] = [None] * DAYS
        counted = [0] * DAYS
        maintenance = [0] * DAYS
        row = rows.get(target_id)
        if row is not None:
            for n, ratio, checks, kept in zip(
                row["day"], row["ratio"], row["counted"], row["maintenance"], strict=True
            ):
                ratios[n], counted[n], maintenance[n] = ratio, checks, kept
        answer[target_id] = [
            Day(day, ratios[n], counted[n], maintenance[n], n in marked)
            for n, day in enumerate(dates)
        ]
    return answer


async def _incidents_with_updates(
    pool: asyncpg.Pool, target_ids: list[int]
) -> tuple[list[asyncpg.Record], dict[int, list[IncidentUpdateRow]]]:
    async with pool.acquire() as connection:
        incidents = await connection.fetch(
            queries["public_page_incidents"], target_ids, DAYS, MAX_INCIDENTS
        )
        updates = await incident_updates(connection, [r["id"] for r in incidents])
    return incidents, updates


async def public_page(pool: asyncpg.Pool, page: StatusPageRow) -> PublicPage:
    """Everything page ``page`` shows, read now."""
    target_ids = sorted({i for g in page.groups for i in g.target_ids})
    windows = [UptimeWindow[name] for name in page.show_uptime_windows]
    # Latency is the average over the last 24 hours (percentiles would cost a histogram read
    # per target: half the statement's time for 200 targets).
    asked: list[Window] = list(windows)
    if page.show_latency and LATENCY_WINDOW not in windows:
        asked.append(LATENCY_WINDOW)
    latency_at = asked.index(LATENCY_WINDOW) if page.show_latency else -1

    async def uptime() -> dict[int, list[Uptime]]:
        if not asked:
            return {}
        return await uptime_for_targets(pool, target_ids, asked, percentiles=[False] * len(asked))

    targets, days, figures, (incidents, updates), maintenance, now = await asyncio.gather(
        _fetch(pool, _TARGETS_SQL, target_ids),
        _days(pool, target_ids),
        uptime(),
        _incidents_with_updates(pool, target_ids),
        _fetch(pool, _MAINTENANCE_SQL, target_ids, MAX_MAINTENANCE),
        pool.fetchval("SELECT now()"),
    )
    names = {r["id"]: r["name"] for r in targets}
    by_id: dict[int, PublicTarget] = {}
    for record in targets:
        answers = figures.get(record["id"], [])
        latency = answers[latency_at].latency if page.show_latency and answers else None
        by_id[record["id"]] = PublicTarget(
            name=record["name"],
            status="maintenance" if record["in_maintenance"] else record["status"],
            windows=[
                WindowFigure(w.name, u.ratio, u.coverage)
                for w, u in zip(windows, answers, strict=False)
            ],
            days=days[record["id"]],
            latency_avg_ms=None if latency is None else latency.avg_ms,
        )
    return PublicPage(
        slug=page.slug,
        title=page.title,
        description=page.description,
        show_latency=page.show_latency,
        windows=list(page.show_uptime_windows),
        generated_at=now,
        groups=[
            PublicGroup(g.name, [by_id[i] for i in g.target_ids if i in by_id]) for g in page.groups
        ],
        incidents=[
            PublicIncident(
                ref=incident_ref(page.slug, r["id"]),
                target=names[r["target_id"]],
                started_at=r["started_at"],
                resolved_at=r["resolved_at"],
                updates=[PublicUpdate(u.status, u.message, u.created_at) for u in updates[r["id"]]],
            )
            for r in incidents
            if r["target_id"] in names  # a target deleted while the statements ran
        ],
        maintenance=[
            PublicMaintenance(
                name=r["name"],
                starts_at=r["starts_at"],
                ends_at=r["ends_at"],
                active=r["active"],
                weekly=r["weekly"],
                targets=[] if r["target_id"] is None else [names[r["target_id"]]],
            )
            for r in maintenance
            if r["target_id"] is None or r["target_id"] in names
        ],
    )
