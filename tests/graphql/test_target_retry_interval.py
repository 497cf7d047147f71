"""retryIntervalSeconds (issue 15) through the API: a setting written is read back unchanged
(null: the default), effectiveRetryIntervalSeconds is the one in force, and a bad value is a
ValidationError naming the field that changes nothing."""

from __future__ import annotations

from typing import Any

import asyncpg

from tests.graphql.conftest import Api

FIELDS = "id intervalSeconds retryIntervalSeconds effectiveRetryIntervalSeconds"
TARGET = f"""
    ... on Target {{ {FIELDS} }}
    ... on ValidationError {{ field problems {{ field message }} }}
"""
CREATE = f"mutation($input: CreateTargetInput!) {{ r: createTarget(input: $input) {{ {TARGET} }} }}"
UPDATE = f"mutation($input: UpdateTargetInput!) {{ r: updateTarget(input: $input) {{ {TARGET} }} }}"
READ = f"query($id: ID!) {{ target(id: $id) {{ {FIELDS} }} }}"
TCP = {"name": "db", "kind": "TCP", "host": "db.example", "port": 5432, "timeoutSeconds": 2.0}


async def create(api: Api, **fields: Any) -> dict[str, Any]:
    result: dict[str, Any] = (await api.data(CREATE, input={**TCP, **fields}))["r"]
    return result


async def update(api: Api, **fields: Any) -> dict[str, Any]:
    result: dict[str, Any] = (await api.data(UPDATE, input=fields))["r"]
    return result


def shown(answer: dict[str, Any]) -> tuple[int, int | None, int]:
    return (
        answer["intervalSeconds"],
        answer["retryIntervalSeconds"],
        answer["effectiveRetryIntervalSeconds"],
    )


async def test_the_retry_interval_round_trips(api: Api, db: asyncpg.Connection) -> None:
    created = await create(api, intervalSeconds=60, retryIntervalSeconds=15)
    read = (await api.data(READ, id=created["id"]))["target"]
    assert shown(created) == shown(read) == (60, 15, 15)
    assert await db.fetchval("SELECT retry_interval_seconds FROM target") == 15

    # Absent from an update: unchanged; null: back to the default (stored as NULL).
    assert shown(await update(api, id=created["id"], name="renamed")) == (60, 15, 15)
    assert shown(await update(api, id=created["id"], retryIntervalSeconds=None)) == (60, None, 10)
    assert await db.fetchval("SELECT retry_interval_seconds FROM target") is None
    assert shown(await update(api, id=created["id"], intervalSeconds=4)) == (4, None, 4)


async def test_the_default_is_the_smaller_of_the_interval_and_10(api: Api) -> None:
    assert shown(await create(api, intervalSeconds=60)) == (60, None, 10)
    assert shown(await create(api, intervalSeconds=5)) == (5, None, 5)


async def test_bad_retry_intervals_are_refused_naming_the_field(
    api: Api, db: asyncpg.Connection
) -> None:
    for value in (0, -5, 61):
        answer = await create(api, intervalSeconds=60, retryIntervalSeconds=value)
        assert answer["field"] == "retryIntervalSeconds", answer
        assert [p["field"] for p in answer["problems"]] == ["retryIntervalSeconds"]
    assert await db.fetchval("SELECT count(*) FROM target") == 0, "nothing written"

    # An interval shortened below the stored retry interval is refused the same way.
    target = await create(api, intervalSeconds=60, retryIntervalSeconds=30)
    answer = await update(api, id=target["id"], intervalSeconds=20)
    assert answer["field"] == "retryIntervalSeconds", answer
    assert "from 1 to the interval (20)" in answer["problems"][0]["message"]
    row = await db.fetchrow("SELECT interval_seconds, retry_interval_seconds FROM target")
    assert tuple(row) == (60, 30), "nothing changed"
