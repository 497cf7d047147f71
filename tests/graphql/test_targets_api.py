"""Targets through GraphQL over real HTTP: queries, mutations, typed errors, auth, limits."""

from __future__ import annotations

import logging
from typing import Any

import asyncpg
import httpx
import pytest
from pydantic import SecretStr

from tests.graphql.conftest import Api, ServeApi
from tests.support.targets import record_history
from uptime_core.runtime.settings import Settings

TARGET_FIELDS = """
    ... on Target { id name kind url host port intervalSeconds timeoutSeconds paused status
                    http { method headers { name } acceptedStatusCodes keyword } }
    ... on ValidationError { message field problems { field message } }
    ... on NotFoundError { message id }
"""
CREATE = (
    f"mutation($input: CreateTargetInput!) {{ createTarget(input: $input) {{ {TARGET_FIELDS} }} }}"
)
UPDATE = (
    f"mutation($input: UpdateTargetInput!) {{ updateTarget(input: $input) {{ {TARGET_FIELDS} }} }}"
)


async def create(api: Api, **fields: Any) -> dict[str, Any]:
    result: dict[str, Any] = (await api.data(CREATE, input=fields))["createTarget"]
    return result


async def test_create_then_read_a_target(api: Api) -> None:
    created = await create(
        api,
        name="  shop  ",
        kind="HTTP",
        url="https://shop.example/health",
        http={"keyword": "ok", "headers": [{"name": "Authorization", "value": "Bearer s3cret"}]},
    )
    assert created["name"] == "shop"
    assert created["status"] == "UNKNOWN"
    assert created["http"]["headers"] == [{"name": "Authorization"}], "header values write-only"
    assert "s3cret" not in str(created)

    target_id = created["id"]
    one = await api.data(f'{{ target(id: "{target_id}") {{ name url }} }}')
    assert one["target"] == {"name": "shop", "url": "https://shop.example/health"}
    node = await api.data(f'{{ node(id: "{target_id}") {{ id ... on Target {{ kind }} }} }}')
    assert node["node"] == {"id": target_id, "kind": "HTTP"}


async def test_public_is_false_until_set_and_reads_back(api: Api, db: asyncpg.Connection) -> None:
    created = await create(api, name="db", kind="TCP", host="127.0.0.1", port=5432)
    one = f'{{ target(id: "{created["id"]}") {{ public }} }}'
    assert (await api.data(one))["target"] == {"public": False}
    changed = await api.data(UPDATE, input={"id": created["id"], "public": True})
    assert "message" not in changed["updateTarget"], changed
    assert (await api.data(one))["target"] == {"public": True}
    assert await db.fetchval("SELECT public FROM target") is True
    refused = await api.data(UPDATE, input={"id": created["id"], "public": None})
    assert refused["updateTarget"]["field"] == "public"
    assert await db.fetchval("SELECT public FROM target") is True, "nothing written"


async def test_targets_page_filter_and_search(api: Api) -> None:
    for n in range(5):
        await create(
            api, name=f"db-{n}" if n % 2 else f"web-{n}", kind="TCP", host="127.0.0.1", port=5432
        )
    page = await api.data(
        "{ targets(first: 2) { edges { cursor node { name } } "
        "pageInfo { hasNextPage endCursor } } }"
    )
    assert [e["node"]["name"] for e in page["targets"]["edges"]] == ["web-0", "db-1"]
    assert page["targets"]["pageInfo"]["hasNextPage"] is True
    after = page["targets"]["pageInfo"]["endCursor"]
    rest = await api.data(
        f'{{ targets(first: 10, after: "{after}") {{ edges {{ node {{ name }} }} '
        "pageInfo { hasNextPage } } }"
    )
    assert [e["node"]["name"] for e in rest["targets"]["edges"]] == ["web-2", "db-3", "web-4"]
    assert rest["targets"]["pageInfo"]["hasNextPage"] is False
    found = await api.data('{ targets(search: "DB") { edges { node { name } } } }')
    assert [e["node"]["name"] for e in found["targets"]["edges"]] == ["db-1", "db-3"]
    unknown = await api.data("{ targets(status: UP) { edges { node { name } } } }")
    assert unknown["targets"]["edges"] == []


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"kind": "TCP", "host": "127.0.0.1", "port": 0}, "port"),
        ({"kind": "TCP", "host": "127.0.0.1", "port": 70000}, "port"),
        ({"kind": "TCP", "host": "127.0.0.1", "port": 80, "intervalSeconds": 0}, "intervalSeconds"),
        (
            {"kind": "TCP", "host": "127.0.0.1", "port": 80, "intervalSeconds": 864000},
            "intervalSeconds",
        ),
        ({"kind": "HTTP", "url": "ftp://files.example/"}, "url"),
        ({"kind": "TCP", "host": "127.0.0.1"}, "port"),
        (
            {
                "kind": "HTTP",
                "url": "https://x.example/",
                "http": {"jsonAssertion": {"path": "$.a", "operator": "~~"}},
            },
            "http.jsonAssertion.operator",
        ),
    ],
)
async def test_bad_input_is_a_validation_error_naming_the_field(
    api: Api, db: asyncpg.Connection, fields: dict[str, Any], field: str
) -> None:
    result = await create(api, name="t", **fields)
    assert result["field"] == field, result
    assert result["message"].startswith(field)
    assert await db.fetchval("SELECT count(*) FROM target") == 0, "nothing written"


async def test_an_empty_name_is_refused(api: Api, db: asyncpg.Connection) -> None:
    result = await create(api, name="   ", kind="ICMP", host="127.0.0.1")
    assert result["field"] == "name"
    assert await db.fetchval("SELECT count(*) FROM target") == 0


async def test_every_problem_is_reported_at_once(api: Api) -> None:
    result = await create(api, name="", kind="TCP", host="127.0.0.1", port=0, timeoutSeconds=-1)
    assert {p["field"] for p in result["problems"]} >= {"name", "port", "timeoutSeconds"}


async def test_update_changes_only_what_it_is_given(api: Api, db: asyncpg.Connection) -> None:
    created = await create(
        api,
        name="a",
        kind="HTTP",
        url="https://a.example/",
        http={"keyword": "ok", "headers": [{"name": "X-Key", "value": "k"}]},
    )
    updated = (
        await api.data(UPDATE, input={"id": created["id"], "name": "b", "http": {"method": "HEAD"}})
    )["updateTarget"]
    assert (updated["name"], updated["url"]) == ("b", "https://a.example/")
    assert updated["http"]["method"] == "HEAD"
    assert updated["http"]["keyword"] == "ok"
    stored = await db.fetchval("SELECT options->'headers'->>'X-Key' FROM target")
    assert stored == "k", "a header not mentioned keeps its value"

    bad = (await api.data(UPDATE, input={"id": created["id"], "url": "ftp://x/"}))["updateTarget"]
    assert bad["field"] == "url"
    assert await db.fetchval("SELECT url FROM target") == "https://a.example/", "nothing written"


async def test_unknown_ids_are_not_found(api: Api, db: asyncpg.Connection) -> None:
    ghost = "VGFyZ2V0Ojk5OTk5"  # Target:99999
    for mutation in ("deleteTarget", "pauseTarget", "resumeTarget", "checkTargetNow"):
        result = await api.data(
            f'mutation {{ {mutation}(id: "{ghost}") {{ ... on NotFoundError {{ id message }} }} }}'
        )
        assert result[mutation]["id"] == ghost, mutation
    garbage = (await api.data(UPDATE, input={"id": "not-an-id", "name": "x"}))["updateTarget"]
    assert garbage["id"] == "not-an-id"
    assert (await api.data('{ target(id: "not-an-id") { id } }'))["target"] is None


async def test_pause_resume_check_now_and_delete(api: Api, db: asyncpg.Connection) -> None:
    target_id = (await create(api, name="p", kind="TCP", host="127.0.0.1", port=22))["id"]
    paused = await api.data(
        f'mutation {{ pauseTarget(id: "{target_id}") {{ ... on Target {{ paused status }} }} }}'
    )
    assert paused["pauseTarget"] == {"paused": True, "status": "PAUSED"}
    assert await db.fetchval("SELECT next_run_at FROM target") is None
    await api.data(f'mutation {{ resumeTarget(id: "{target_id}") {{ ... on Target {{ id }} }} }}')
    row = await db.fetchrow("SELECT paused, status, next_run_at <= now() AS due FROM target")
    assert (row["paused"], row["status"], row["due"]) == (False, "unknown", True)

    await db.execute("UPDATE target SET next_run_at = now() + interval '1 hour'")
    await api.data(f'mutation {{ checkTargetNow(id: "{target_id}") {{ ... on Target {{ id }} }} }}')
    assert await db.fetchval("SELECT next_run_at <= now() FROM target") is True

    # What a recorded check leaves, to be deleted with the target (these tables have no
    # foreign key to cascade: migration 0008).
    derived = [
        "check_result",
        "check_rollup_hourly",
        "check_rollup_daily",
        "check_histogram_hourly",
        "check_histogram_daily",
        "incident",
    ]
    numeric_id = await db.fetchval("SELECT id FROM target")
    await record_history(db, numeric_id, [(await db.fetchval("SELECT now()"), "up", 1.5)])
    await db.execute("INSERT INTO incident (target_id, started_at) VALUES ($1, now())", numeric_id)
    assert [await db.fetchval(f"SELECT count(*) FROM {t}") for t in derived] == [1] * 6
    deleted = await api.data(
        f'mutation {{ deleteTarget(id: "{target_id}") {{ ... on Deleted {{ id }} }} }}'
    )
    assert deleted["deleteTarget"] == {"id": target_id}
    assert await db.fetchval("SELECT count(*) FROM target") == 0
    assert [await db.fetchval(f"SELECT count(*) FROM {t}") for t in derived] == [0] * 6


async def test_deep_and_alias_heavy_queries_are_refused(api: Api) -> None:
    deep = "{ targets { edges { node { lastCheck { target " * 12 + "{ name }" + " } } } } }" * 12
    body = await api.call(deep)
    assert body.get("errors"), "a depth-50 query is refused"
    assert "depth" in body["errors"][0]["message"]
    aliases = "{ " + " ".join(f"a{n}: version" for n in range(1000)) + " }"
    body = await api.call(aliases)
    assert body.get("errors")
    assert "alias" in body["errors"][0]["message"].lower()


async def test_latency_series_is_not_asked_of_a_whole_list(api: Api) -> None:
    for n in range(11):
        await create(api, name=f"tcp {n}", kind="TCP", host="127.0.0.1", port=9)
    body = await api.call(
        "{ targets { edges { node { latencySeries(window: LAST_HOUR) { checks } } } } }"
    )
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert body["errors"][0]["message"].startswith("latencySeries: at most 10 per request")
    ten = await api.data(
        "{ targets(first: 10) { edges { node { latencySeries(window: LAST_HOUR) { checks } } } } }"
    )
    assert len(ten["targets"]["edges"]) == 10


async def test_a_page_larger_than_100_is_refused(api: Api) -> None:
    body = await api.call("{ targets(first: 101) { edges { cursor } } }")
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_with_a_token_every_operation_needs_it(
    serve_api: ServeApi, database_url: str, db: asyncpg.Connection
) -> None:
    settings = Settings(database_url=database_url, api_token=SecretStr("t0ken"))
    async with (
        serve_api(database_url, settings) as base,
        httpx.AsyncClient(base_url=base) as client,
    ):
        create = {
            "query": CREATE,
            "variables": {"input": {"name": "x", "kind": "ICMP", "host": "127.0.0.1"}},
        }
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "t0ken"}):
            body = (await client.post("/graphql", json=create, headers=headers)).json()
            assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED", headers
            assert body.get("data") is None
        query = (await client.post("/graphql", json={"query": "{ version }"})).json()
        assert query["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        assert await db.fetchval("SELECT count(*) FROM target") == 0, "nothing written"

        ok = await client.post("/graphql", json=create, headers={"Authorization": "Bearer t0ken"})
        assert ok.json()["data"]["createTarget"]["name"] == "x"


async def test_the_dashboard_query_runs_a_bounded_number_of_statements(
    serve_api: ServeApi,
    database_url: str,
    db: asyncpg.Connection,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = Settings(database_url=database_url, log_level="debug")
    async with (
        serve_api(database_url, settings) as base,
        httpx.AsyncClient(base_url=base) as client,
    ):
        api = Api(client)
        for n in range(100):
            await create(api, name=f"t{n}", kind="TCP", host="127.0.0.1", port=1000 + n)
        first = await db.fetchval("SELECT min(id) FROM target")
        now = await db.fetchval("SELECT now()")
        await record_history(db, first, [(now, "up", 1.0)])
        caplog.set_level(logging.DEBUG, logger="uptime.sql")
        caplog.clear()
        data = await api.data(
            "{ targets(first: 100) { edges { node { name status lastCheck { status latencyMs } "
            "day: uptime(window: LAST_24_HOURS) { ratio latency { p95Ms } } "
            "week: uptime(window: LAST_7_DAYS) { ratio } "
            "month: uptime(window: LAST_30_DAYS) { ratio coverage } } } } }"
        )
    statements = [r for r in caplog.records if r.name == "uptime.sql"]
    edges = data["targets"]["edges"]
    assert len(edges) == 100
    assert edges[0]["node"]["lastCheck"] == {"status": "UP", "latencyMs": 1.0}
    assert edges[0]["node"]["day"]["ratio"] == 1.0
    assert edges[1]["node"]["day"]["ratio"] is None
    assert 1 <= len(statements) <= 10, [r.getMessage()[:80] for r in statements]
