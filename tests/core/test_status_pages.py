"""Status pages in the core: validation naming the field, nothing half-written, incident
updates, and what a page shows (bars, windows, incidents, maintenance) without addresses."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import asdict
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from tests.support.status_pages import add_incident, add_maintenance, seed_days, today
from tests.support.targets import TargetSpec, insert_targets
from uptime_core.enums import IncidentUpdateStatus
from uptime_core.public_status import public_page
from uptime_core.runtime.db import libpq_url
from uptime_core.status_pages import (
    GroupFields,
    StatusPageFields,
    create_page,
    delete_page,
    incident_updates,
    list_pages,
    page_by_slug,
    post_incident_update,
    update_page,
)
from uptime_core.validation import InvalidFields

SECRET_URL = "https://secret-api.internal.example:8443/health?token=abc"


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await asyncpg.create_pool(libpq_url(database_url), min_size=1, max_size=6)
    try:
        yield pool
    finally:
        await pool.close()


async def _targets(db: asyncpg.Connection) -> list[int]:
    return await insert_targets(
        db,
        [
            TargetSpec("http", url=SECRET_URL, name="API", interval_seconds=3600),
            TargetSpec(
                "tcp", host="db.internal.example", port=5432, name="Database", interval_seconds=3600
            ),
            TargetSpec("icmp", host="10.1.2.3", name="Router", interval_seconds=3600),
        ],
    )


def _fields(ids: list[int], **changes: object) -> StatusPageFields:
    values: dict[str, object] = {
        "slug": "acme",
        "title": "Acme status",
        "description": "Our services",
        "show_latency": True,
        "show_uptime_windows": ["LAST_24_HOURS", "LAST_30_DAYS"],
        "groups": [GroupFields("Web", ids[:2]), GroupFields("Network", ids[2:])],
    }
    values.update(changes)
    return StatusPageFields(**values)  # type: ignore[arg-type]


async def test_create_read_update_delete(db: asyncpg.Connection, pool: asyncpg.Pool) -> None:
    ids = await _targets(db)
    page = await create_page(pool, _fields(ids, title="  Acme status  "))
    assert page.title == "Acme status"
    assert [(g.name, g.target_ids) for g in page.groups] == [
        ("Web", ids[:2]),
        ("Network", ids[2:]),
    ]
    assert await page_by_slug(pool, "acme") == page
    changed = await update_page(
        pool, page.id, {"title": "New", "groups": [GroupFields("All", ids[::-1])]}
    )
    assert changed is not None
    assert changed.title == "New" and changed.slug == "acme"
    assert [(g.name, g.target_ids) for g in changed.groups] == [("All", ids[::-1])]
    assert changed.show_uptime_windows == ["LAST_24_HOURS", "LAST_30_DAYS"]
    pages, more = await list_pages(pool, 10, None)
    assert [p.id for p in pages] == [page.id] and not more
    assert await update_page(pool, page.id + 100, {"title": "x"}) is None
    assert await delete_page(pool, page.id) == "acme"
    assert await delete_page(pool, page.id) is None
    assert await page_by_slug(pool, "acme") is None


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"slug": "Not A Slug"}, "slug"),
        ({"slug": "x" * 64}, "slug"),
        ({"title": " "}, "title"),
        ({"title": "t" * 201}, "title"),
        ({"show_uptime_windows": ["LAST_YEAR"]}, "showUptimeWindows"),
        ({"show_uptime_windows": ["LAST_HOUR", "LAST_HOUR"]}, "showUptimeWindows"),
        ({"groups": [GroupFields("", [])]}, "groups.0.name"),
    ],
)
async def test_invalid_input_names_its_field(
    db: asyncpg.Connection, pool: asyncpg.Pool, changes: dict[str, object], field: str
) -> None:
    ids = await _targets(db)
    with pytest.raises(InvalidFields) as raised:
        await create_page(pool, _fields(ids, **changes))
    assert raised.value.errors[0].field == field
    assert await db.fetchval("SELECT count(*) FROM status_page") == 0


async def test_unknown_targets_and_taken_slugs_write_nothing(
    db: asyncpg.Connection, pool: asyncpg.Pool
) -> None:
    ids = await _targets(db)
    with pytest.raises(InvalidFields) as raised:
        await create_page(
            pool, _fields(ids, groups=[GroupFields("a", ids), GroupFields("b", [999])])
        )
    assert [e.field for e in raised.value.errors] == ["groups.1.targetIds"]
    page = await create_page(pool, _fields(ids))
    with pytest.raises(InvalidFields) as raised:
        await create_page(pool, _fields(ids, groups=[]))
    assert raised.value.errors[0].field == "slug"
    other = await create_page(pool, _fields(ids, slug="other", groups=[]))
    # A failed update leaves the page as it was: row and groups.
    with pytest.raises(InvalidFields):
        await update_page(pool, other.id, {"slug": "acme", "groups": [GroupFields("x", ids)]})
    assert await page_by_slug(pool, "other") == other
    assert await db.fetchval("SELECT count(*) FROM status_page_group") == len(page.groups)


async def test_incident_updates_in_order(db: asyncpg.Connection, pool: asyncpg.Pool) -> None:
    ids = await _targets(db)
    incident = await add_incident(db, ids[0], datetime.now(UTC) - timedelta(hours=1), None)
    first = await post_incident_update(pool, incident, IncidentUpdateStatus.INVESTIGATING, " a ")
    second = await post_incident_update(pool, incident, IncidentUpdateStatus.IDENTIFIED, "b")
    assert first is not None and second is not None and first.message == "a"
    found = await incident_updates(pool, [incident, incident + 1])
    assert [u.status for u in found[incident]] == ["investigating", "identified"]
    assert found[incident + 1] == []
    assert (
        await post_incident_update(pool, incident + 1, IncidentUpdateStatus.RESOLVED, "x") is None
    )
    with pytest.raises(InvalidFields) as raised:
        await post_incident_update(pool, incident, IncidentUpdateStatus.RESOLVED, "  ")
    assert raised.value.errors[0].field == "message"


async def test_public_page_shows_names_and_figures_only(
    db: asyncpg.Connection, pool: asyncpg.Pool
) -> None:
    api, database, router = await _targets(db)
    await seed_days(db, api, down_hours={3: 6, 10: 1})
    await seed_days(db, database, days=30)
    # Router: no history at all.
    start = today() - timedelta(days=3)
    incident = await add_incident(db, api, start, start + timedelta(hours=6))
    await post_incident_update(pool, incident, IncidentUpdateStatus.INVESTIGATING, "Looking")
    await post_incident_update(pool, incident, IncidentUpdateStatus.RESOLVED, "Fixed <b>it</b>")
    soon = datetime.now(UTC) + timedelta(days=1)
    await add_maintenance(db, "Database upgrade", database, soon, soon + timedelta(hours=2))
    await add_maintenance(db, "Past", database, soon - timedelta(days=5), soon - timedelta(days=4))
    await db.execute(
        "UPDATE target SET status = 'up' WHERE id = ANY($1::bigint[])", [api, database]
    )
    row = await create_page(pool, _fields([api, database, router]))

    page = await public_page(pool, row)
    web, network = page.groups
    assert [t.name for t in web.targets] == ["API", "Database"]
    api_view = web.targets[0]
    assert api_view.status == "up" and network.targets[0].status == "unknown"
    assert len(api_view.days) == 90 and api_view.days[-1].day == today().date()
    three_days_ago = api_view.days[-4]
    assert three_days_ago.ratio == pytest.approx(18 / 24) and three_days_ago.incident
    assert api_view.days[-11].ratio == pytest.approx(23 / 24) and not api_view.days[-11].incident
    assert api_view.days[-5].ratio == 1.0 and not api_view.days[-5].incident
    assert web.targets[1].days[0].ratio is None  # before its 30 days of history
    assert network.targets[0].days[-1].ratio is None
    assert [w.window for w in api_view.windows] == ["LAST_24_HOURS", "LAST_30_DAYS"]
    assert api_view.windows[1].ratio == pytest.approx(1 - 7 / (30 * 24), abs=0.002)
    assert api_view.latency_avg_ms == pytest.approx(120)
    assert [i.target for i in page.incidents] == ["API"]
    assert [(u.status, u.message) for u in page.incidents[0].updates] == [
        ("investigating", "Looking"),
        ("resolved", "Fixed <b>it</b>"),
    ]
    assert page.incidents[0].status == "resolved"
    assert [(m.name, m.targets, m.active) for m in page.maintenance] == [
        ("Database upgrade", ["Database"], False)
    ]
    text = repr(asdict(page))
    for secret in ("secret-api", "internal.example", "10.1.2.3", "10.0.0.7", "5432", "http"):
        assert secret not in text


async def test_a_weekly_window_shows_its_next_occurrence(
    db: asyncpg.Connection, pool: asyncpg.Pool
) -> None:
    ids = await _targets(db)
    now = datetime.now(UTC)
    start = (now + timedelta(hours=2)).replace(minute=0, second=0, microsecond=0)
    await db.execute(
        "INSERT INTO maintenance_window (name, target_id, kind, weekdays, local_start, "
        "duration_seconds, time_zone) VALUES ('Nightly', NULL, 'weekly', $1, $2, 1800, 'UTC')",
        [start.isoweekday()],
        start.time(),
    )
    page = await public_page(pool, await create_page(pool, _fields(ids, groups=[])))
    assert page.groups == [] and page.status == "unknown"
    (window,) = page.maintenance
    assert (window.name, window.weekly, window.active, window.targets) == (
        "Nightly",
        True,
        False,
        [],
    )
    assert window.starts_at == start and window.ends_at == start + timedelta(minutes=30)
