"""The fields the dashboard at /ui reads beyond the basics: a target's latency series, and
every target's strip of recent checks in a bounded number of statements."""

from __future__ import annotations

import logging
from datetime import timedelta

import asyncpg
import httpx
import pytest

from tests.graphql.conftest import ServeApi
from tests.support.targets import TargetSpec, insert_targets, record_history
from uptime_core.runtime.settings import Settings
from uptime_graphql.types.node import global_id


async def query(client: httpx.AsyncClient, text: str, **variables: object) -> dict[str, object]:
    response = await client.post("/graphql", json={"query": text, "variables": variables})
    body = response.json()
    assert "errors" not in body, body
    data: dict[str, object] = body["data"]
    return data


async def test_latency_series_through_the_api(api_url: str, db: asyncpg.Connection) -> None:
    [target_id] = await insert_targets(db, [TargetSpec(kind="tcp", host="127.0.0.1", port=9)])
    now = await db.fetchval("SELECT now()")
    slots = [now - timedelta(minutes=3) + n * timedelta(seconds=10) for n in range(12)]
    await record_history(
        db, target_id, [(s, "down" if n == 5 else "up", 10.0 + n) for n, s in enumerate(slots)]
    )
    async with httpx.AsyncClient(base_url=api_url) as client:
        data = await query(
            client,
            "query($id: ID!) { target(id: $id) { latencySeries(window: LAST_HOUR) "
            "{ start checks failures p50Ms p95Ms } } }",
            id=global_id("Target", target_id),
        )
    target = data["target"]
    assert isinstance(target, dict)
    points = target["latencySeries"]
    assert 60 <= len(points) <= 61
    assert sum(p["checks"] for p in points) == 12
    assert sum(p["failures"] for p in points) == 1
    with_data = [p for p in points if p["checks"]]
    assert all(10.0 <= p["p50Ms"] <= p["p95Ms"] <= 21.0 for p in with_data), with_data
    assert all(p["p50Ms"] is None for p in points if not p["checks"])


async def test_every_targets_recent_checks_in_a_bounded_number_of_statements(
    serve_api: ServeApi,
    database_url: str,
    db: asyncpg.Connection,
    caplog: pytest.LogCaptureFixture,
) -> None:
    ids = await insert_targets(
        db, [TargetSpec(kind="tcp", host="127.0.0.1", port=9, name=f"t{n}") for n in range(60)]
    )
    now = await db.fetchval("SELECT now()")
    for n, target_id in enumerate(ids[:5]):
        history = [(now - timedelta(seconds=s), "down" if s == n else "up", 1.0) for s in range(30)]
        await record_history(db, target_id, history)
    settings = Settings(database_url=database_url, log_level="debug")
    async with (
        serve_api(database_url, settings) as base,
        httpx.AsyncClient(base_url=base) as client,
    ):
        caplog.set_level(logging.DEBUG, logger="uptime.sql")
        caplog.clear()
        data = await query(
            client,
            "{ targets(first: 100) { edges { node { name "
            "checks(first: 20) { edges { node { status scheduledFor } } "
            "pageInfo { hasNextPage } } } } } }",
        )
    statements = [r.getMessage() for r in caplog.records if r.name == "uptime.sql"]
    reading_checks = [s for s in statements if "FROM check_result" in s]
    assert len(reading_checks) == 1, "one statement for every target's checks, not one each"
    assert len(statements) <= 10, [s[:80] for s in statements]
    connection = data["targets"]
    assert isinstance(connection, dict)
    nodes = [edge["node"] for edge in connection["edges"]]
    assert len(nodes) == 60
    for n, node in enumerate(nodes[:5]):
        checks = node["checks"]["edges"]
        assert len(checks) == 20 and node["checks"]["pageInfo"]["hasNextPage"]
        times = [c["node"]["scheduledFor"] for c in checks]
        assert times == sorted(times, reverse=True), "newest first"
        assert [c["node"]["status"] for c in checks].index("DOWN") == n
    assert all(node["checks"]["edges"] == [] for node in nodes[5:])
    assert not any(node["checks"]["pageInfo"]["hasNextPage"] for node in nodes[5:])
