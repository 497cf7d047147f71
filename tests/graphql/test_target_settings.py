"""Every target setting written can be read back, an update changes only what it names, bad
headers and URLs are refused at write time by field, and secrets (header values, the body,
the URL's password) never come back."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest

from tests.graphql.conftest import Api

PASSWORD = "pa55-w0rd-never-shown"
HEADER_SECRET = "Bearer header-s3cret"
BODY_SECRET = "body-s3cret"

OPTIONS = """
    http { method headers { name } hasBody acceptedStatusCodes followRedirects maxRedirects
           verifyTls keyword keywordAbsent jsonAssertion { path operator value }
           degradedLatencyMs certExpiryDays ipFamily }
    tcp { tls verifyTls certExpiryDays degradedLatencyMs ipFamily }
    icmp { degradedLatencyMs ipFamily }
"""
FIELDS = f"""id name kind url host port intervalSeconds timeoutSeconds failureThreshold
    recoveryThreshold {OPTIONS}"""
TARGET = f"""
    ... on Target {{ {FIELDS} }}
    ... on ValidationError {{ message field problems {{ field message }} }}
    ... on NotFoundError {{ message }}
"""
CREATE = f"mutation($input: CreateTargetInput!) {{ r: createTarget(input: $input) {{ {TARGET} }} }}"
UPDATE = f"mutation($input: UpdateTargetInput!) {{ r: updateTarget(input: $input) {{ {TARGET} }} }}"
READ = f"query($id: ID!) {{ target(id: $id) {{ {FIELDS} }} }}"

HTTP_INPUT: dict[str, Any] = {
    "name": "shop",
    "kind": "HTTP",
    "url": f"https://monitor:{PASSWORD}@shop.example:8443/health?full=1",
    "intervalSeconds": 45,
    "timeoutSeconds": 7.5,
    "failureThreshold": 3,
    "recoveryThreshold": 4,
    "http": {
        "method": "POST",
        "headers": [
            {"name": "Authorization", "value": HEADER_SECRET},
            {"name": "X-Trace", "value": "on"},
            {"name": "Host", "value": "vhost.example"},
        ],
        "body": f'{{"probe": "{BODY_SECRET}"}}',
        "acceptedStatusCodes": ["200", "300-308"],
        "followRedirects": False,
        "maxRedirects": 3,
        "verifyTls": False,
        "keyword": "healthy",
        "keywordAbsent": False,
        "jsonAssertion": {"path": "$.checks[0].ok", "operator": "==", "value": True},
        "degradedLatencyMs": 250.5,
        "certExpiryDays": 14,
        "ipFamily": "ipv6",
    },
}
TCP_INPUT: dict[str, Any] = {
    "name": "db",
    "kind": "TCP",
    "host": "db.example",
    "port": 5432,
    "intervalSeconds": 30,
    "timeoutSeconds": 2.0,
    "failureThreshold": 1,
    "recoveryThreshold": 5,
    "tcp": {
        "tls": True,
        "verifyTls": False,
        "certExpiryDays": 21,
        "degradedLatencyMs": 80.0,
        "ipFamily": "ipv6",
    },
}
ICMP_INPUT: dict[str, Any] = {
    "name": "router",
    "kind": "ICMP",
    "host": "router.example",
    "intervalSeconds": 20,
    "timeoutSeconds": 1.5,
    "failureThreshold": 5,
    "recoveryThreshold": 1,
    "icmp": {"degradedLatencyMs": 12.25, "ipFamily": "ipv6"},
}


@pytest.fixture
async def api(api_url: str) -> AsyncIterator[Api]:
    """A client that fails any answer carrying a secret written in these tests."""
    async with httpx.AsyncClient(base_url=api_url, timeout=10) as client:
        yield Api(client, forbidden=(PASSWORD, HEADER_SECRET, BODY_SECRET))


async def create(api: Api, fields: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = (await api.data(CREATE, input=fields))["r"]
    return result


async def update(api: Api, fields: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = (await api.data(UPDATE, input=fields))["r"]
    return result


async def stored(db: asyncpg.Connection) -> dict[str, Any]:
    """The one target row as PostgreSQL holds it, every column, as JSON text."""
    row = await db.fetchval("SELECT to_jsonb(t)::text FROM target AS t")
    assert isinstance(row, str)
    return {"row": row}


def expected_read(given: dict[str, Any]) -> dict[str, Any]:
    """What reading a target back must show for what was written (secrets left out)."""
    answer = {k: v for k, v in given.items() if k not in ("http", "tcp", "icmp")}
    answer.setdefault("url", None)
    answer.setdefault("host", None)
    answer.setdefault("port", None)
    answer["http"] = answer["tcp"] = answer["icmp"] = None
    if "http" in given:
        http = dict(given["http"])
        # Listed by name: the order of different header names means nothing in HTTP.
        names = sorted((h["name"] for h in http["headers"]), key=str.lower)
        http["headers"] = [{"name": name} for name in names]
        http["hasBody"] = http.pop("body") is not None
        answer["http"] = http
        answer["url"] = given["url"].replace(PASSWORD, "***")
    if "tcp" in given:
        answer["tcp"] = given["tcp"]
    if "icmp" in given:
        answer["icmp"] = given["icmp"]
    return answer


@pytest.mark.parametrize("given", [HTTP_INPUT, TCP_INPUT, ICMP_INPUT], ids=["http", "tcp", "icmp"])
async def test_every_setting_written_is_read_back(api: Api, given: dict[str, Any]) -> None:
    created = await create(api, given)
    read = (await api.data(READ, id=created["id"]))["target"]
    for answer in (created, read):
        shown = {k: v for k, v in answer.items() if k != "id"}
        assert shown == expected_read(given)


@pytest.mark.parametrize("given", [HTTP_INPUT, TCP_INPUT, ICMP_INPUT], ids=["http", "tcp", "icmp"])
async def test_an_update_naming_only_the_name_changes_nothing_else(
    api: Api, db: asyncpg.Connection, given: dict[str, Any]
) -> None:
    target_id = (await create(api, given))["id"]
    before = await db.fetchrow("SELECT to_jsonb(t) - 'name' - 'updated_at' AS r FROM target t")
    updated = await update(api, {"id": target_id, "name": "renamed"})
    after = await db.fetchrow("SELECT to_jsonb(t) - 'name' - 'updated_at' AS r FROM target t")
    assert before is not None and after is not None
    assert after["r"] == before["r"]
    assert updated == {**expected_read(given), "id": target_id, "name": "renamed"}


async def test_an_update_naming_one_option_keeps_the_other_options(
    api: Api, db: asyncpg.Connection
) -> None:
    target_id = (await create(api, TCP_INPUT))["id"]
    options = "SELECT options::text FROM target WHERE kind = $1"
    before = json.loads(await db.fetchval(options, "tcp"))
    updated = await update(api, {"id": target_id, "tcp": {"degradedLatencyMs": 99.0}})
    assert updated["tcp"] == {**TCP_INPUT["tcp"], "degradedLatencyMs": 99.0}
    assert json.loads(await db.fetchval(options, "tcp")) == {**before, "degradedLatencyMs": 99.0}

    http_id = (await create(api, HTTP_INPUT))["id"]
    http_before = json.loads(await db.fetchval(options, "http"))
    await update(api, {"id": http_id, "http": {"method": "PUT"}})
    http_after = json.loads(await db.fetchval(options, "http"))
    assert http_after == {**http_before, "method": "PUT"}, "headers and body kept"
    assert http_after["headers"]["Authorization"] == HEADER_SECRET


async def test_an_update_that_changes_nothing_writes_nothing(
    api: Api, db: asyncpg.Connection
) -> None:
    target_id = (await create(api, HTTP_INPUT))["id"]
    before = await db.fetchval("SELECT to_jsonb(t)::text FROM target t")
    shown = await update(
        api, {"id": target_id, "name": "shop", "url": expected_read(HTTP_INPUT)["url"]}
    )
    assert shown["name"] == "shop"
    assert await db.fetchval("SELECT to_jsonb(t)::text FROM target t") == before, (
        "not even updated_at moves"
    )


async def test_the_url_password_is_write_only(api: Api, db: asyncpg.Connection) -> None:
    created = await create(api, HTTP_INPUT)
    target_id = created["id"]
    assert created["url"] == "https://monitor:***@shop.example:8443/health?full=1"
    listed = await api.data("{ targets { edges { node { url } } } }")
    assert listed["targets"]["edges"][0]["node"]["url"] == created["url"]
    node = await api.data(f'{{ node(id: "{target_id}") {{ ... on Target {{ url }} }} }}')
    assert node["node"]["url"] == created["url"]

    # The redacted URL given back (an edit form saved as it was) keeps the password, and so
    # does one that changes only the path: it still goes to the same host and user.
    await update(api, {"id": target_id, "url": created["url"]})
    assert await db.fetchval("SELECT url FROM target") == HTTP_INPUT["url"]
    moved = "https://monitor:***@shop.example:8443/v2/health"
    assert (await update(api, {"id": target_id, "url": moved}))["url"] == moved
    assert await db.fetchval("SELECT url FROM target") == moved.replace("***", PASSWORD)

    # Never sent anywhere else without being typed again.
    for elsewhere in (
        "https://monitor:***@evil.example:8443/health",
        "https://monitor:***@shop.example:9443/health",
        "http://monitor:***@shop.example:8443/health",
        "https://other:***@shop.example:8443/health",
    ):
        refused = await update(api, {"id": target_id, "url": elsewhere})
        assert refused["field"] == "url", elsewhere
        assert "type the password again" in refused["message"]
    assert await db.fetchval("SELECT url FROM target") == moved.replace("***", PASSWORD)

    retyped = await update(
        api,
        {
            "id": target_id,
            "url": "https://monitor:new-one@evil.example/",
            "http": {"headers": [{"name": "X-New", "value": "typed again"}], "body": "{}"},
        },
    )
    assert retyped["url"] == "https://monitor:***@evil.example/"
    assert await db.fetchval("SELECT url FROM target") == "https://monitor:new-one@evil.example/"


ELSEWHERE = ("https://evil.example/health", "http://shop.example/", "https://shop.example:8443/")


async def test_header_values_do_not_follow_the_url_to_another_host(
    api: Api, db: asyncpg.Connection
) -> None:
    no_body = {name: value for name, value in HTTP_INPUT["http"].items() if name != "body"}
    given = {**HTTP_INPUT, "url": "https://shop.example/health", "http": no_body}
    target_id = (await create(api, given))["id"]
    before = await db.fetchval("SELECT to_jsonb(t)::text FROM target t")
    for elsewhere in ELSEWHERE:
        refused = await update(api, {"id": target_id, "url": elsewhere})
        assert refused["field"] == "http.headers", elsewhere
        assert "give the headers again" in refused["message"]
    assert await db.fetchval("SELECT to_jsonb(t)::text FROM target t") == before

    # Same host: the headers stay. Given again, or dropped, they may go anywhere.
    await update(api, {"id": target_id, "url": "https://SHOP.example/v2"})
    assert json.loads(await db.fetchval("SELECT options::text FROM target"))["headers"]
    dropped = await update(
        api, {"id": target_id, "url": "https://other.example/", "http": {"headers": []}}
    )
    assert (dropped["url"], dropped["http"]["headers"]) == ("https://other.example/", [])


async def test_the_body_does_not_follow_the_url_to_another_host(
    api: Api, db: asyncpg.Connection
) -> None:
    body = HTTP_INPUT["http"]["body"]
    given = {**HTTP_INPUT, "url": "https://shop.example/health", "http": {"body": body}}
    target_id = (await create(api, given))["id"]
    before = await db.fetchval("SELECT to_jsonb(t)::text FROM target t")
    for elsewhere in ELSEWHERE:
        refused = await update(api, {"id": target_id, "url": elsewhere})
        assert refused["field"] == "http.body", elsewhere
        assert "give the body again" in refused["message"]
    assert await db.fetchval("SELECT to_jsonb(t)::text FROM target t") == before

    # Same host: the body stays. Given again, or removed, it may go anywhere.
    await update(api, {"id": target_id, "url": "https://SHOP.example/v2"})
    assert json.loads(await db.fetchval("SELECT options::text FROM target"))["body"] == body
    retyped = await update(
        api, {"id": target_id, "url": "https://other.example/", "http": {"body": "{}"}}
    )
    assert (retyped["url"], retyped["http"]["hasBody"]) == ("https://other.example/", True)
    removed = await update(
        api, {"id": target_id, "url": "https://third.example/", "http": {"body": None}}
    )
    assert (removed["url"], removed["http"]["hasBody"]) == ("https://third.example/", False)


async def test_moving_a_url_names_both_the_headers_and_the_body(
    api: Api, db: asyncpg.Connection
) -> None:
    target_id = (await create(api, {**HTTP_INPUT, "url": "https://shop.example/"}))["id"]

    refused = await update(api, {"id": target_id, "url": "https://evil.example/"})

    assert [p["field"] for p in refused["problems"]] == ["http.headers", "http.body"]
    half = await update(
        api, {"id": target_id, "url": "https://evil.example/", "http": {"headers": []}}
    )
    assert [p["field"] for p in half["problems"]] == ["http.body"]


def _header_case(headers: list[dict[str, str]]) -> dict[str, Any]:
    return {"kind": "HTTP", "url": "http://x.example/", "http": {"headers": headers}}


OK = {"name": "X-Ok", "value": "fine"}


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        (_header_case([OK, OK | {"name": "Bad Name"}]), "http.headers[1].name"),
        (_header_case([OK, {"name": "X-A", "value": "ünïcode"}]), "http.headers[1].value"),
        (
            _header_case([OK, OK | {"name": "X-B"}, {"name": "X-C", "value": "€"}]),
            "http.headers[2].value",
        ),
        (_header_case([{"name": "X-A", "value": "a\r\nInjected: yes"}]), "http.headers[0].value"),
        (_header_case([{"name": "X-A", "value": "nul\x00"}]), "http.headers[0].value"),
        (_header_case([OK, {"name": "x-ok", "value": "again"}]), "http.headers[1].name"),
        (_header_case([{"name": "Transfer-Encoding", "value": "chunked"}]), "http.headers[0].name"),
        (_header_case([{"name": "Content-Length", "value": "0"}]), "http.headers[0].name"),
        (_header_case([{"name": "Connection", "value": "close"}]), "http.headers[0].name"),
        (_header_case([{"name": "Upgrade", "value": "h2c"}]), "http.headers[0].name"),
        (_header_case([{"name": "Proxy-Authorization", "value": "x"}]), "http.headers[0].name"),
        (_header_case([{"name": f"X-{n}", "value": "v"} for n in range(5000)]), "http.headers"),
        (_header_case([{"name": "X-Big", "value": "v" * 9000}]), "http.headers"),
        ({"kind": "HTTP", "url": "http://x.example/a path"}, "url"),
        ({"kind": "HTTP", "url": "http://x.example:99999/"}, "url"),
        ({"kind": "HTTP", "url": "http://x.example:0/"}, "url"),
        ({"kind": "HTTP", "url": "http://:8080/"}, "url"),
        ({"kind": "HTTP", "url": "http://x.example/a\tb"}, "url"),
        ({"kind": "HTTP", "url": "gopher://x.example/"}, "url"),
    ],
)
async def test_bad_headers_and_urls_are_refused_naming_the_field(
    api: Api, db: asyncpg.Connection, fields: dict[str, Any], field: str
) -> None:
    result = await create(api, {"name": "t", **fields})
    assert result["field"] == field, result
    assert {p["field"] for p in result["problems"]} == {field}
    assert await db.fetchval("SELECT count(*) FROM target") == 0, "nothing written"


async def test_bad_headers_in_an_update_are_refused_and_change_nothing(
    api: Api, db: asyncpg.Connection
) -> None:
    target_id = (await create(api, HTTP_INPUT))["id"]
    before = await db.fetchval("SELECT to_jsonb(t)::text FROM target t")
    result = await update(
        api,
        {"id": target_id, "http": {"headers": [OK, {"name": "Keep-Alive", "value": "5"}]}},
    )
    assert result["field"] == "http.headers[1].name"
    assert await db.fetchval("SELECT to_jsonb(t)::text FROM target t") == before
