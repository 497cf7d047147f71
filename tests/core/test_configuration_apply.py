"""Applying a configuration document (uptime_core/configuration/apply.py) against a real
PostgreSQL: the plan names exactly what changes, a dry run writes nothing, a second apply has
nothing to do, updates keep history, prune deletes only when asked, a problem found while
writing leaves nothing written, and two applies at once never mix."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
import yaml

from tests.support.wait import poll_until
from uptime_core.configuration import parse_document
from uptime_core.configuration.apply import (
    SPREAD_ABOVE,
    Action,
    Change,
    ObjectKind,
    Plan,
    apply_document,
)
from uptime_core.runtime.db import create_pool
from uptime_core.runtime.settings import Settings
from uptime_core.sql import queries
from uptime_core.validation import InvalidFields

DOCUMENT = """
targets:
  - key: shop
    kind: http
    url: https://shop.example.com/health
    intervalSeconds: 30
    http:
      headers: [{name: Authorization, value: "${SHOP_TOKEN}"}]
      acceptedStatusCodes: ["200-299"]
  - {key: docs, kind: http, url: "https://docs.example.com/"}
  - {key: api, kind: http, url: "https://api.example.com/", http: {method: HEAD}}
  - {key: db, kind: tcp, host: db.internal, port: 5432}
  - {key: cache, kind: tcp, host: cache.internal, port: 6379, tcp: {tls: true}}
  - {key: gateway, kind: icmp, host: 10.0.0.1, public: true}
channels:
  - key: ops-hook
    kind: webhook
    targets: [shop, api]
    webhook: {url: "https://hooks.example.com/uptime", secret: "${HOOK_SECRET}"}
  - key: ops-mail
    kind: email
    allTargets: true
    email: {host: smtp.example.com, from: uptime@example.com, to: [ops@example.com]}
maintenanceWindows:
  - key: db-sunday
    kind: weekly
    target: db
    weekdays: [sunday]
    localStart: "03:00"
    durationSeconds: 3600
    timeZone: Europe/Paris
"""


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection set up as the API's are (JSON codecs), shadowing conftest's plain one."""
    pool = await create_pool(database_url, Settings(database_url=database_url, db_pool_size=2))
    async with pool.acquire() as connection:
        yield connection
    await pool.close()


async def connect(database_url: str) -> asyncpg.Pool:
    return await create_pool(database_url, Settings(database_url=database_url, db_pool_size=1))


ENVIRON = {"SHOP_TOKEN": "Bearer s3cr3t-token", "HOOK_SECRET": "a-signing-secret-of-32-chars!!"}


def data() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(DOCUMENT)
    return loaded


async def apply(
    db: asyncpg.Connection,
    document: dict[str, Any],
    *,
    dry_run: bool = False,
    prune: bool = False,
) -> Plan:
    return await apply_document(db, parse_document(document, ENVIRON), dry_run=dry_run, prune=prune)


async def snapshot(db: asyncpg.Connection) -> list[Any]:
    """Every row an apply may write, to see that nothing else moved."""
    tables = ["target", "notification_channel", "channel_target", "maintenance_window"]
    return [
        [tuple(row) for row in await db.fetch(f"SELECT * FROM {table} ORDER BY 1, 2")]
        for table in tables
    ]


async def test_dry_run_apply_then_nothing_to_do(db: asyncpg.Connection) -> None:
    before = await snapshot(db)
    planned = await apply(db, data(), dry_run=True)
    assert planned.dry_run and not planned.applied
    assert [(c.action, c.kind, c.key) for c in planned.changes] == [
        *[
            (Action.CREATE, ObjectKind.TARGET, k)
            for k in ("shop", "docs", "api", "db", "cache", "gateway")
        ],
        (Action.CREATE, ObjectKind.CHANNEL, "ops-hook"),
        (Action.CREATE, ObjectKind.CHANNEL, "ops-mail"),
        (Action.CREATE, ObjectKind.MAINTENANCE_WINDOW, "db-sunday"),
    ]
    assert planned.changes[0].where == "targets[0]"
    assert await snapshot(db) == before, "a dry run writes nothing"

    applied = await apply(db, data())
    assert applied.applied and applied.count(Action.CREATE) == 9
    assert await db.fetchval("SELECT count(*) FROM target") == 6
    watched = await db.fetch(
        "SELECT t.key FROM channel_target AS ct JOIN target AS t ON t.id = ct.target_id "
        "JOIN notification_channel AS c ON c.id = ct.channel_id WHERE c.key = 'ops-hook' "
        "ORDER BY 1"
    )
    assert [row["key"] for row in watched] == ["api", "shop"]
    public = await db.fetch("SELECT key FROM target WHERE public")
    assert [row["key"] for row in public] == ["gateway"]
    window_target = await db.fetchval(
        "SELECT t.key FROM maintenance_window AS m JOIN target AS t ON t.id = m.target_id"
    )
    assert window_target == "db"

    again = await apply(db, data())
    assert (again.changes, again.unchanged, again.applied) == ((), 9, False)


async def test_one_field_changed_is_the_only_change(db: asyncpg.Connection) -> None:
    await apply(db, data())
    shop_id = await db.fetchval("SELECT id FROM target WHERE key = 'shop'")
    await db.execute(
        "INSERT INTO check_result (target_id, scheduled_for, started_at, finished_at, status) "
        "VALUES ($1, now(), now(), now(), 'up')",
        shop_id,
    )
    before = await snapshot(db)
    changed = data()
    changed["targets"][0]["intervalSeconds"] = 45
    changed["targets"][0]["http"]["headers"][0]["value"] = "${OTHER}"
    environ = {**ENVIRON, "OTHER": "Bearer another"}
    plan = await apply_document(db, parse_document(changed, environ), dry_run=False, prune=False)
    assert plan.changes == (
        Change(
            Action.UPDATE,
            ObjectKind.TARGET,
            "shop",
            ("intervalSeconds", "http.headers"),
            "targets[0]",
        ),
    )
    assert plan.unchanged == 8
    after = await snapshot(db)
    targets_before = {row[0]: row for row in before[0]}
    moved = [row[0] for row in after[0] if targets_before[row[0]] != row]
    assert moved == [shop_id], "only the changed target's row was written"
    assert after[1:] == before[1:]
    assert await db.fetchval("SELECT id FROM target WHERE key = 'shop'") == shop_id
    assert await db.fetchval("SELECT count(*) FROM check_result WHERE target_id = $1", shop_id) == 1
    assert "Bearer another" not in repr(plan), "the plan names fields, never secret values"


async def test_a_target_left_out_is_deleted_only_with_prune(db: asyncpg.Connection) -> None:
    await apply(db, data())
    smaller = data()
    smaller["targets"] = [t for t in smaller["targets"] if t["key"] != "gateway"]
    kept = await apply(db, smaller)
    assert kept.changes == () and await db.fetchval("SELECT count(*) FROM target") == 6
    pruned = await apply(db, smaller, prune=True)
    assert pruned.changes == (Change(Action.DELETE, ObjectKind.TARGET, "gateway"),)
    keys = [row["key"] for row in await db.fetch("SELECT key FROM target ORDER BY key")]
    assert keys == ["api", "cache", "db", "docs", "shop"]


async def test_a_problem_found_while_writing_leaves_nothing_written(
    db: asyncpg.Connection,
) -> None:
    await apply(db, data())
    before = await snapshot(db)
    broken = data()
    broken["targets"][1]["intervalSeconds"] = 120  # an update that would be written first
    broken["maintenanceWindows"][0]["timeZone"] = "Mars/Olympus_Mons"
    with pytest.raises(InvalidFields) as refused:
        await apply(db, broken)
    assert refused.value.errors[0].field.startswith("maintenanceWindows[0].timeZone")
    assert await snapshot(db) == before


async def test_two_applies_at_once_never_mix(db: asyncpg.Connection, database_url: str) -> None:
    await apply(db, data())
    first, second = data(), data()
    for target in first["targets"]:
        target["intervalSeconds"] = 90
    for target in second["targets"]:
        target["intervalSeconds"] = 120
        target["timeoutSeconds"] = 7
    pool = await connect(database_url)
    other = await pool.acquire()
    try:
        # The first holds the lock (its transaction open) while the second starts.
        async with db.transaction():
            await db.execute(queries["configuration_lock"])
            waiting = asyncio.ensure_future(apply(other, second))
            blocked = await poll_until(
                lambda: db.fetchval(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
                ),
                lambda count: count == 1 or waiting.done(),
                within=20,
            )
            assert blocked == 1 and not waiting.done(), "the second apply waits for the lock"
        plans = [await apply(db, first), await waiting]
    finally:
        await pool.release(other)
        await pool.close()
    rows = await db.fetch("SELECT DISTINCT interval_seconds, timeout_seconds FROM target")
    # The waiting apply went first once the lock was free; the first document, asked for
    # after, waited for it and planned against what it wrote.
    assert [tuple(row) for row in rows] == [(90, 10.0)], "every target from one document"
    assert all(plan.applied for plan in plans)
    assert plans[0].changes[0].fields == ("intervalSeconds", "timeoutSeconds")


async def test_a_big_import_is_spread_over_the_interval(db: asyncpg.Connection) -> None:
    def many(count: int, interval: int, prefix: str) -> dict[str, Any]:
        return {
            "targets": [
                {
                    "key": f"{prefix}-{n}",
                    "kind": "tcp",
                    "host": "127.0.0.1",
                    "port": 9,
                    "intervalSeconds": interval,
                }
                for n in range(count)
            ]
        }

    async def offsets() -> list[float]:
        rows = await db.fetch(
            "SELECT extract(epoch FROM next_run_at - now())::float8 AS s FROM target ORDER BY id"
        )
        return [row["s"] for row in rows]

    await apply(db, many(SPREAD_ABOVE, 600, "small"))
    assert max(await offsets()) < 10, "a hundred new targets are checked at once"
    await apply(db, many(SPREAD_ABOVE + 1, 600, "big"), prune=True)
    spread = await offsets()
    # Evenly over 600 s, in document order, 600 / 101 s apart.
    gaps = [b - a for a, b in itertools.pairwise(spread)]
    assert len(spread) == SPREAD_ABOVE + 1
    assert min(spread) < 1 and max(spread) > 590
    assert all(abs(gap - 600 / (SPREAD_ABOVE + 1)) < 0.01 for gap in gaps)
