"""Keys in the core: the slug rule (Python and SQL agree), validation, keys derived on create
(unique, also when created concurrently), refused when taken, and migration 0005's backfill
of existing rows from their names."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from uptime_core.alerting.channels import ChannelFields, create_channel
from uptime_core.enums import ChannelKind, MaintenanceKind
from uptime_core.keys import MAX_KEY_LENGTH, key_problem, slug, validate_key
from uptime_core.maintenance import MaintenanceFields, create_window
from uptime_core.runtime import migrations
from uptime_core.runtime.db import create_pool, libpq_url
from uptime_core.runtime.settings import Settings
from uptime_core.targets import TargetFields, create_target, update_target
from uptime_core.validation import InvalidFields

NAMES = [
    "Shop API (EU)",
    "  --Hello,   World!--  ",
    "ÉTÉ café",
    "\u212a is the Kelvin sign",  # lowercases to k in Python's str.lower(), not here
    "İstanbul",
    "already-a-key-9",
    "UPPER_snake_Case",
    "☃",
    "",
    "-",
    "a" * 70,
    "b" * 62 + "-c",
    "tab\tnew\nline",
]


def tcp(name: str, key: str | None = None) -> TargetFields:
    return TargetFields(name=name, kind="tcp", host="127.0.0.1", port=9, key=key)


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(database_url, Settings(database_url=database_url, db_pool_size=8))
    yield pool
    await pool.close()


def test_slug_rule() -> None:
    assert slug("Shop API (EU)") == "shop-api-eu"
    assert slug("  --Hello,   World!--  ") == "hello-world"
    assert slug("ÉTÉ café") == "t-caf"
    assert slug("☃") == ""
    assert slug("a" * 70) == "a" * 63
    assert slug("b" * 62 + "-c") == "b" * 62, "cut to 63, then no dash left at the end"
    for name in NAMES:
        made = slug(name)
        assert made == "" or key_problem(made) is None, name


def test_key_validation() -> None:
    for good in ("a", "api-eu-1", "9", "a" * MAX_KEY_LENGTH):
        assert validate_key(good) == good
    assert validate_key(None) is None
    for bad in ("", "A", "a--b", "-a", "a-", "a_b", "a b", "é", "a" * 64):
        with pytest.raises(InvalidFields) as raised:
            validate_key(bad)
        assert [e.field for e in raised.value.errors] == ["key"], bad


async def test_sql_slug_is_the_python_slug(db: asyncpg.Connection) -> None:
    in_sql = await db.fetch("SELECT uptime_slug(name) AS s FROM unnest($1::text[]) AS name", NAMES)
    assert [row["s"] for row in in_sql] == [slug(name) for name in NAMES]


async def test_keys_derived_on_create_are_unique_and_within_the_limit(pool: asyncpg.Pool) -> None:
    long_name = "x" * 70
    rows = [await create_target(pool, tcp(name)) for name in ("Web", "web", "WEB!", "☃")]
    rows += [await create_target(pool, tcp(long_name)) for _ in range(11)]
    keys = [row.key for row in rows]
    assert keys[:3] == ["web", "web-2", "web-3"]
    assert keys[3] == f"target-{rows[3].id}"
    assert keys[4] == "x" * 63
    assert keys[5] == "x" * 61 + "-2"
    assert keys[12] == "x" * 61 + "-9"
    # Past -9 a derived key takes the row's id: a few lookups however many share the name.
    assert keys[13] == "x" * (62 - len(str(rows[13].id))) + f"-{rows[13].id}"
    assert keys[14] == "x" * (62 - len(str(rows[14].id))) + f"-{rows[14].id}"
    assert all(len(key) <= MAX_KEY_LENGTH and key_problem(key) is None for key in keys)
    # A name that looks like a suffixed key does not confuse the next one.
    taken = await create_target(pool, tcp("web-4"))
    after = await create_target(pool, tcp("web"))
    assert (taken.key, after.key) == ("web-4", "web-5")


async def test_concurrent_creates_with_one_name_all_succeed(pool: asyncpg.Pool) -> None:
    rows = await asyncio.gather(*(create_target(pool, tcp("same name")) for _ in range(8)))
    assert sorted(row.key for row in rows) == sorted(
        ["same-name"] + [f"same-name-{n}" for n in range(2, 9)]
    )


async def test_concurrent_derived_and_given_keys_do_not_collide(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as holder, holder.transaction():
        # An uncommitted given key: a derivation waits for it instead of picking it too.
        await create_target(holder, tcp("other", key="api"))
        derived = asyncio.ensure_future(create_target(pool, tcp("API")))
        await asyncio.sleep(0.2)
        assert not derived.done()
    assert (await derived).key == "api-2"


async def test_a_taken_or_bad_key_writes_nothing(pool: asyncpg.Pool) -> None:
    first = await create_target(pool, tcp("one", key="one"))
    for fields in (tcp("two", key="one"), tcp("two", key="Two")):
        with pytest.raises(InvalidFields) as raised:
            await create_target(pool, fields)
        assert [e.field for e in raised.value.errors] == ["key"]
    assert await pool.fetchval("SELECT count(*) FROM target") == 1
    second = await create_target(pool, tcp("two"))
    async with pool.acquire() as connection:
        with pytest.raises(InvalidFields, match="key: is already used by another target"):
            await update_target(connection, second.id, {"key": "one"})
        changed = await update_target(connection, first.id, {"key": "uno"})
    assert changed is not None and changed.key == "uno"
    window = MaintenanceFields(
        name="Nightly",
        target_id=None,
        kind=MaintenanceKind.ONCE,
        starts_at=datetime.now(UTC),
        ends_at=datetime.now(UTC) + timedelta(hours=1),
    )
    assert (await create_window(pool, window)).key == "nightly"
    channel = ChannelFields(
        name="Nightly",
        kind=ChannelKind.WEBHOOK,
        config={"url": "https://hooks.example.com/x"},
        all_targets=True,
        enabled=True,
        reminder_interval_seconds=None,
        target_ids=[],
    )
    assert (await create_channel(pool, channel)).key == "nightly", "unique per kind only"
    with pytest.raises(InvalidFields, match="key: is already used by another channel"):
        await create_channel(pool, replace(channel, key="nightly"))


async def test_migration_backfills_keys_from_names(database_url: str) -> None:
    await asyncio.to_thread(migrations.downgrade, database_url, "0004")
    connection = await asyncpg.connect(libpq_url(database_url))
    try:
        names = ["Shop API", "shop api", "shop-api-2", "☃", "", "Shop API", "x" * 70, "x" * 64]
        ids = [
            await connection.fetchval(
                "INSERT INTO target (name, kind, host, port, interval_seconds, timeout_seconds, "
                "failure_threshold, recovery_threshold) VALUES ($1, 'tcp', 'h', 9, 60, 5, 2, 2) "
                "RETURNING id",
                name,
            )
            for name in names
        ]
        channel = await connection.fetchval(
            "INSERT INTO notification_channel (name, kind) VALUES ('!!', 'webhook') RETURNING id"
        )
        await connection.execute(
            "INSERT INTO maintenance_window (name, kind, starts_at, ends_at) "
            "VALUES ('Nightly', 'once', now(), now() + interval '1 hour'), "
            "('nightly', 'once', now(), now() + interval '1 hour')"
        )
        await asyncio.to_thread(migrations.upgrade, database_url)
        keys = await connection.fetch("SELECT id, key FROM target ORDER BY id")
        assert [row["key"] for row in keys] == [
            "shop-api",
            "shop-api-2",
            "shop-api-2-2",  # its own slug was taken by the row before it
            f"target-{ids[3]}",
            f"target-{ids[4]}",
            "shop-api-3",
            "x" * 63,
            "x" * 61 + "-2",
        ]
        assert await connection.fetchval("SELECT key FROM notification_channel") == (
            f"channel-{channel}"
        )
        windows = await connection.fetch("SELECT key FROM maintenance_window ORDER BY id")
        assert [row["key"] for row in windows] == ["nightly", "nightly-2"]
        with pytest.raises(asyncpg.CheckViolationError):
            await connection.execute("UPDATE target SET key = 'Not OK' WHERE id = $1", ids[0])
    finally:
        await connection.close()
