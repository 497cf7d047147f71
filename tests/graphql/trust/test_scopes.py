"""Named tokens with scopes (issue 20): a read token queries and subscribes but every mutation
answers FORBIDDEN naming the scope; write manages targets, channels and windows but not tokens;
admin (and UPTIME_API_TOKEN) does everything; a revoked token stops at once, over HTTP and on
an open subscription (closed with 4403); logs name tokens, never show them.

The API runs in this process on a real loopback port (``serve_api``); tokens are made through
the API itself, as ``uptime tokens create`` does."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from tests.graphql.conftest import ServeApi
from tests.graphql.trust.support import TOKEN, WS_PROTOCOL
from tests.support.targets import TargetSpec, insert_targets
from tests.support.wait import poll_until
from uptime_core import tokens
from uptime_core.enums import TokenScope
from uptime_core.runtime.settings import Settings
from uptime_graphql.auth import root_fields
from uptime_graphql.sessions import TokenSessions

CREATE_TOKEN = """mutation CreateToken($name: String!, $scope: TokenScope!) {
  createApiToken(input: {name: $name, scope: $scope}) {
    __typename
    ... on CreatedApiToken { token apiToken { id name scope createdAt revokedAt } }
    ... on ValidationError { field message }
  }
}"""
REVOKE_TOKEN = """mutation Revoke($id: ID!) {
  revokeApiToken(id: $id) {
    __typename ... on ApiToken { id name revokedAt } ... on NotFoundError { message }
  }
}"""
LIST_TOKENS = "{ apiTokens { id name scope createdAt revokedAt } }"
CREATE_TARGET = """mutation { createTarget(input: {name: "shop", kind: TCP, host: "127.0.0.1",
  port: 9}) { __typename ... on Target { id } } }"""

# One mutation of each kind, as a read token sends it, and the scope each needs.
MUTATIONS = {
    "createTarget": (CREATE_TARGET, TokenScope.WRITE),
    "pauseTarget": (
        'mutation { pauseTarget(id: "VGFyZ2V0OjE=") { __typename } }',
        TokenScope.WRITE,
    ),
    "createChannel": (
        'mutation { createChannel(input: {name: "hook", kind: WEBHOOK, allTargets: true, '
        'webhook: {url: "http://127.0.0.1:9/"}}) { __typename } }',
        TokenScope.WRITE,
    ),
    "createMaintenanceWindow": (
        'mutation { createMaintenanceWindow(input: {name: "w", kind: ONCE, '
        'startsAt: "2030-01-01T00:00:00Z", endsAt: "2030-01-01T01:00:00Z"}) { __typename } }',
        TokenScope.WRITE,
    ),
    "deleteMaintenanceWindow": (
        'mutation { deleteMaintenanceWindow(id: "TWFpbnRlbmFuY2VXaW5kb3c6MQ==") { __typename } }',
        TokenScope.WRITE,
    ),
    "createApiToken": (
        'mutation { createApiToken(input: {name: "x", scope: ADMIN}) { __typename } }',
        TokenScope.ADMIN,
    ),
    "revokeApiToken": (
        'mutation { revokeApiToken(id: "QXBpVG9rZW46MQ==") { __typename } }',
        TokenScope.ADMIN,
    ),
    "postIncidentUpdate": (
        'mutation { postIncidentUpdate(input: {incidentId: "SW5jaWRlbnQ6MQ==", '
        'status: INVESTIGATING, message: "m"}) { __typename } }',
        TokenScope.WRITE,
    ),
    "createStatusPage": (
        'mutation { createStatusPage(input: {slug: "s", title: "S", groups: [], '
        "showLatency: false, showUptimeWindows: []}) { __typename } }",
        TokenScope.ADMIN,
    ),
    "deleteStatusPage": (
        'mutation { deleteStatusPage(id: "U3RhdHVzUGFnZTox") { __typename } }',
        TokenScope.ADMIN,
    ),
}


class Client:
    def __init__(self, http: httpx.AsyncClient, token: str | None) -> None:
        self.http = http
        self.headers = {"authorization": f"Bearer {token}"} if token is not None else {}

    async def call(self, query: str, **variables: Any) -> dict[str, Any]:
        answer = await self.http.post(
            "/graphql", json={"query": query, "variables": variables}, headers=self.headers
        )
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body

    async def data(self, query: str, **variables: Any) -> dict[str, Any]:
        body = await self.call(query, **variables)
        assert "errors" not in body, body
        data: dict[str, Any] = body["data"]
        return data

    async def refused(self, query: str, code: str, **variables: Any) -> str:
        body = await self.call(query, **variables)
        assert body["data"] is None, body
        (error,) = body["errors"]
        assert error["extensions"]["code"] == code, body
        message: str = error["message"]
        return message


async def make_token(admin: Client, name: str, scope: str) -> tuple[str, dict[str, Any]]:
    made = (await admin.data(CREATE_TOKEN, name=name, scope=scope))["createApiToken"]
    assert made["__typename"] == "CreatedApiToken", made
    return made["token"], made["apiToken"]


@pytest.fixture
async def served(serve_api: ServeApi, database_url: str) -> AsyncIterator[tuple[str, Client]]:
    """The API with UPTIME_API_TOKEN set: its URL and an admin client (the env token)."""
    settings = Settings(database_url=database_url, api_token=TOKEN)
    async with (
        serve_api(database_url, settings) as url,
        httpx.AsyncClient(base_url=url, timeout=30) as http,
    ):
        yield url, Client(http, TOKEN)


async def test_tokens_are_made_once_stored_hashed_and_listed_without_their_value(
    served: tuple[str, Client], db: asyncpg.Connection
) -> None:
    _, admin = served
    token, row = await make_token(admin, "grafana", "READ")
    assert token.startswith("upt_") and len(token) >= 40
    assert row["name"] == "grafana" and row["scope"] == "READ" and row["revokedAt"] is None
    stored = await db.fetchrow("SELECT * FROM api_token")
    assert stored["token_hash"] == tokens.token_hash(token)
    assert token.encode() not in bytes(stored["token_hash"]) and token not in str(dict(stored))
    listed = (await admin.data(LIST_TOKENS))["apiTokens"]
    assert listed == [row]
    assert token not in json.dumps(listed)

    # A live name is taken; a bad name says what a name may be.
    again = (await admin.data(CREATE_TOKEN, name="grafana", scope="WRITE"))["createApiToken"]
    assert again["__typename"] == "ValidationError" and again["field"] == "name"
    assert "already named 'grafana'" in again["message"]
    for bad in ("", "with space", "-dash", "x" * 65, "naïve"):
        answer = (await admin.data(CREATE_TOKEN, name=bad, scope="READ"))["createApiToken"]
        assert answer["__typename"] == "ValidationError" and answer["field"] == "name", bad
    # Revoked, the name is free again; revoking again changes nothing; unknown ids are not found.
    revoked = (await admin.data(REVOKE_TOKEN, id=row["id"]))["revokeApiToken"]
    assert revoked["__typename"] == "ApiToken" and revoked["revokedAt"] is not None
    twice = (await admin.data(REVOKE_TOKEN, id=row["id"]))["revokeApiToken"]
    assert twice["revokedAt"] == revoked["revokedAt"]
    for unknown in ("QXBpVG9rZW46OTk5", "VGFyZ2V0OjE=", "nonsense"):
        answer = (await admin.data(REVOKE_TOKEN, id=unknown))["revokeApiToken"]
        assert answer["__typename"] == "NotFoundError", unknown
    _, second = await make_token(admin, "grafana", "WRITE")
    assert [t["name"] for t in (await admin.data(LIST_TOKENS))["apiTokens"]] == ["grafana"] * 2
    assert second["scope"] == "WRITE"


async def test_a_read_token_reads_but_every_mutation_is_forbidden_naming_the_scope(
    served: tuple[str, Client], db: asyncpg.Connection
) -> None:
    url, admin = served
    token, _ = await make_token(admin, "dashboard", "READ")
    reader = Client(admin.http, token)
    assert await reader.data("{ targets(first: 5) { edges { node { id } } } }")
    assert await reader.data("{ __schema { queryType { name } } }")
    assert (await reader.data(LIST_TOKENS))["apiTokens"][0]["name"] == "dashboard"
    assert await reader.data("{ tokenScope }") == {"tokenScope": "READ"}
    assert await admin.data("{ tokenScope }") == {"tokenScope": "ADMIN"}
    for field, (mutation, needed) in MUTATIONS.items():
        message = await reader.refused(mutation, "FORBIDDEN")
        article = "an" if needed is TokenScope.ADMIN else "a"
        assert message == f"{field} needs {article} {needed.value} token; this token is read"
    # Nothing ran: no target, channel, window or token was made.
    for table in ("target", "notification_channel", "maintenance_window", "status_page"):
        assert await db.fetchval(f"SELECT count(*) FROM {table}") == 0, table
    assert await db.fetchval("SELECT count(*) FROM api_token") == 1
    # Through fragments and aliases too, and a mutation of only __typename is no change.
    sneaky = "mutation { ...F } fragment F on Mutation { ... on Mutation { x: " + (
        'pauseTarget(id: "VGFyZ2V0OjE=") { __typename } } }'
    )
    assert "pauseTarget needs a write token" in await reader.refused(sneaky, "FORBIDDEN")
    assert await reader.data("mutation { __typename }") == {"__typename": "Mutation"}
    # Subscriptions are reading.
    ws_url = url.replace("http://", "ws://") + "/graphql"
    async with connect(ws_url, subprotocols=WS_PROTOCOL) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": {"token": token}}))
        assert json.loads(await ws.recv()) == {"type": "connection_ack"}
        # A mutation sent over the WebSocket is refused the same way.
        await ws.send(
            json.dumps({"id": "1", "type": "subscribe", "payload": {"query": CREATE_TARGET}})
        )
        answer = json.loads(await ws.recv())
        assert answer["payload"]["errors"][0]["extensions"]["code"] == "FORBIDDEN", answer
    assert await db.fetchval("SELECT count(*) FROM target") == 0


async def test_write_manages_targets_but_not_tokens_and_admin_manages_both(
    served: tuple[str, Client],
) -> None:
    _, admin = served
    write_token, _ = await make_token(admin, "ci", "WRITE")
    admin_token, _ = await make_token(admin, "ops", "ADMIN")
    writer, named_admin = Client(admin.http, write_token), Client(admin.http, admin_token)
    created = (await writer.data(CREATE_TARGET))["createTarget"]
    assert created["__typename"] == "Target"
    message = await writer.refused(MUTATIONS["createApiToken"][0], "FORBIDDEN")
    assert message == "createApiToken needs an admin token; this token is write"
    # A document asking for both is refused whole, naming only what is short.
    both = (
        f'mutation {{ a: pauseTarget(id: "{created["id"]}") {{ __typename }} '
        'b: revokeApiToken(id: "x") { __typename } }'
    )
    message = await writer.refused(both, "FORBIDDEN")
    assert message == "revokeApiToken needs an admin token; this token is write"
    message = await writer.refused(MUTATIONS["createStatusPage"][0], "FORBIDDEN")
    assert message == "createStatusPage needs an admin token; this token is write"
    # A named admin token and UPTIME_API_TOKEN do both.
    page = (await named_admin.data(MUTATIONS["createStatusPage"][0]))["createStatusPage"]
    assert page["__typename"] == "StatusPage", page
    _, made = await make_token(named_admin, "made-by-ops", "READ")
    assert (await named_admin.data(CREATE_TARGET))["createTarget"]["__typename"] == "Target"
    assert (await admin.data(REVOKE_TOKEN, id=made["id"]))["revokeApiToken"]["revokedAt"]


async def test_wrong_and_revoked_tokens_are_unauthenticated_at_once(
    served: tuple[str, Client],
) -> None:
    _, admin = served
    token, row = await make_token(admin, "scraper", "READ")
    reader = Client(admin.http, token)
    query = "{ targets(first: 1) { edges { node { id } } } }"
    assert await reader.data(query)
    # /metrics takes a read token (and any above it); none or a wrong one is 401.
    for given, status in ((token, 200), (TOKEN, 200), (None, 401), ("upt_wrong", 401)):
        headers = {"authorization": f"Bearer {given}"} if given else {}
        scraped = await admin.http.get("/metrics", headers=headers)
        assert scraped.status_code == status, (given, scraped.text)
    for wrong in (token + "x", token[:-1], "upt_", "upt_" + "A" * 43, "nonsense"):
        await Client(admin.http, wrong).refused(query, "UNAUTHENTICATED")
    await admin.data(REVOKE_TOKEN, id=row["id"])
    await reader.refused(query, "UNAUTHENTICATED")  # the very next request
    await reader.refused(CREATE_TARGET, "UNAUTHENTICATED")
    scraped = await admin.http.get("/metrics", headers={"authorization": f"Bearer {token}"})
    assert scraped.status_code == 401


async def test_without_uptime_api_token_no_token_is_admin_but_a_presented_one_counts(
    serve_api: ServeApi, database_url: str
) -> None:
    async with (
        serve_api(database_url) as url,
        httpx.AsyncClient(base_url=url, timeout=30) as http,
    ):
        anyone = Client(http, None)
        assert await anyone.data("{ tokenScope }") == {"tokenScope": "ADMIN"}
        token, _ = await make_token(anyone, "reader", "READ")
        assert (await anyone.data(CREATE_TARGET))["createTarget"]["__typename"] == "Target"
        reader = Client(http, token)
        assert await reader.data("{ targets(first: 1) { edges { node { id } } } }")
        assert "needs a write token" in await reader.refused(CREATE_TARGET, "FORBIDDEN")
        await Client(http, "wrong").refused("{ version }", "UNAUTHENTICATED")
        await Client(http, TOKEN).refused("{ version }", "UNAUTHENTICATED")


async def test_a_revoked_tokens_open_subscription_is_closed_with_4403_at_once(
    served: tuple[str, Client], caplog: pytest.LogCaptureFixture
) -> None:
    url, admin = served
    caplog.set_level(logging.INFO)
    token, row = await make_token(admin, "wallboard", "READ")
    other, _ = await make_token(admin, "other", "READ")
    ws_url = url.replace("http://", "ws://") + "/graphql"
    subscription = "subscription { targetStatusChanged { at } }"

    async def open_subscription(payload: dict[str, str]) -> Any:
        ws = await connect(ws_url, subprotocols=WS_PROTOCOL)
        await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
        assert json.loads(await ws.recv()) == {"type": "connection_ack"}
        await ws.send(
            json.dumps({"id": "1", "type": "subscribe", "payload": {"query": subscription}})
        )
        return ws

    revoked_ws = await open_subscription({"token": token})
    header_ws = await open_subscription({"Authorization": f"Bearer {token}"})
    other_ws = await open_subscription({"token": other})
    env_ws = await open_subscription({"token": TOKEN})
    # The older graphql-ws protocol too.
    legacy_ws = await connect(ws_url, subprotocols=[Subprotocol("graphql-ws")])
    await legacy_ws.send(json.dumps({"type": "connection_init", "payload": {"token": token}}))
    assert json.loads(await legacy_ws.recv()) == {"type": "connection_ack"}
    start = {"id": "1", "type": "start", "payload": {"query": subscription}}
    await legacy_ws.send(json.dumps(start))
    try:
        await asyncio.sleep(0.2)  # the subscriptions are running
        await admin.data(REVOKE_TOKEN, id=row["id"])
        for ws in (revoked_ws, header_ws, legacy_ws):
            with pytest.raises(ConnectionClosed) as closed:
                while True:  # graphql-ws says "complete" first; nothing else comes
                    message = json.loads(await asyncio.wait_for(ws.recv(), timeout=5))
                    assert ws is legacy_ws and message == {"type": "complete", "id": "1"}
            assert closed.value.rcvd is not None
            assert closed.value.rcvd.code == 4403 and closed.value.rcvd.reason == "token revoked"
        # The others stay open: a ping is answered.
        for ws in (other_ws, env_ws):
            await ws.send(json.dumps({"type": "ping"}))
            assert json.loads(await asyncio.wait_for(ws.recv(), timeout=5)) == {"type": "pong"}
        # A new connection with the revoked token is refused.
        fresh = await connect(ws_url, subprotocols=WS_PROTOCOL)
        await fresh.send(json.dumps({"type": "connection_init", "payload": {"token": token}}))
        with pytest.raises(ConnectionClosed) as refused:
            await asyncio.wait_for(fresh.recv(), timeout=5)
        assert refused.value.rcvd is not None and refused.value.rcvd.code == 4403
    finally:
        for ws in (revoked_ws, header_ws, other_ws, env_ws, legacy_ws):
            await ws.close()
    closing = [r.getMessage() for r in caplog.records if "revoked token" in r.getMessage()]
    assert closing == ["closed a WebSocket of revoked token wallboard (4403)"] * 3
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


async def test_a_revocation_missed_while_not_listening_is_caught_up(
    database_url: str, db: asyncpg.Connection
) -> None:
    # What the listener runs each time it listens again: the sockets of tokens revoked
    # meanwhile are closed.
    from uptime_core.runtime.db import create_pool
    from uptime_graphql.auth import Caller

    settings = Settings(database_url=database_url)
    pool = await create_pool(database_url, settings)
    try:
        _, live = await tokens.create_token(pool, "live", TokenScope.READ)
        _, gone = await tokens.create_token(pool, "gone", TokenScope.READ)
        await tokens.revoke_token(pool, gone.id)

        class Socket:
            application_state = None
            closed: tuple[int, str] | None = None

            async def close(self, code: int, reason: str) -> None:
                self.closed = (code, reason)

        sessions = TokenSessions()
        kept, dropped = Socket(), Socket()
        sessions.add(kept, Caller(TokenScope.READ, "live", live.id))  # type: ignore[arg-type]
        sessions.add(dropped, Caller(TokenScope.READ, "gone", gone.id))  # type: ignore[arg-type]
        await sessions.close_revoked(pool)
        assert dropped.closed == (4403, "token revoked") and kept.closed is None
        assert sessions.token_ids() == [live.id]
    finally:
        await pool.close()


async def test_logs_name_the_token_never_its_value(
    served: tuple[str, Client], caplog: pytest.LogCaptureFixture
) -> None:
    _, admin = served
    caplog.set_level(logging.DEBUG)
    token, row = await make_token(admin, "deploy-bot", "READ")
    reader = Client(admin.http, token)
    await reader.data("{ targets(first: 1) { edges { node { id } } } }")
    await reader.refused(CREATE_TARGET, "FORBIDDEN")
    write_token, _ = await make_token(admin, "ci", "WRITE")
    assert (await Client(admin.http, write_token).data(CREATE_TARGET))["createTarget"]
    await admin.data(REVOKE_TOKEN, id=row["id"])
    await reader.refused("{ version }", "UNAUTHENTICATED")

    async def text() -> str:
        return "\n".join(logging.Formatter().format(r) for r in caplog.records)

    log = await poll_until(text, lambda t: "revoked API token deploy-bot" in t, within=5)
    assert token not in log and write_token not in log and TOKEN not in log
    assert "refused: 1 forbidden by token deploy-bot" in log
    assert "GraphQL mutation (anonymous) (createTarget) by token ci" in log
    assert "created API token deploy-bot (read)" in log
    assert "CreateToken (createApiToken) by token (UPTIME_API_TOKEN)" in log


def test_root_fields_follow_fragments_and_aliases() -> None:
    from graphql import parse

    document = parse(
        "mutation A { x: createTarget { id } ...F ... on Mutation { deleteTarget } } "
        "fragment F on Mutation { revokeApiToken ...F } mutation B { pauseTarget }"
    )
    assert root_fields(document, "A") == ["createTarget", "deleteTarget", "revokeApiToken"]
    assert root_fields(document, "B") == ["pauseTarget"]
    assert root_fields(document, None) == []  # two operations and no name: none chosen


async def test_events_racing_a_revocation_end_quietly(
    served: tuple[str, Client], db: asyncpg.Connection, caplog: pytest.LogCaptureFixture
) -> None:
    # Events keep coming while the token is revoked: the subscriptions stop before the socket
    # closes, so none is sent on a closed socket (no error, no traceback in the log).
    url, admin = served
    caplog.set_level(logging.INFO)
    (target_id,) = await insert_targets(
        db, [TargetSpec(kind="tcp", host="127.0.0.1", port=9, interval_seconds=3600)]
    )
    token, row = await make_token(admin, "racer", "READ")
    ws_url = url.replace("http://", "ws://") + "/graphql"
    sockets = []
    for _ in range(5):
        ws = await connect(ws_url, subprotocols=WS_PROTOCOL)
        await ws.send(json.dumps({"type": "connection_init", "payload": {"token": token}}))
        assert json.loads(await ws.recv()) == {"type": "connection_ack"}
        for n in range(3):
            query = "subscription { targetStatusChanged { target { name } current } }"
            await ws.send(
                json.dumps({"id": str(n), "type": "subscribe", "payload": {"query": query}})
            )
        sockets.append(ws)
    await asyncio.sleep(0.3)

    def change(n: int) -> str:  # distinct: PostgreSQL folds equal notifications of a transaction
        at = f"2026-01-01T00:00:{n:02}+00:00"
        return json.dumps({"changes": [[target_id, "up", "down", at]]})

    await db.execute("SELECT pg_notify('uptime_events', $1)", change(59))
    for ws in sockets:  # events are flowing
        message = json.loads(await asyncio.wait_for(ws.recv(), timeout=5))
        assert message["type"] == "next", message
    async with db.transaction():
        for n in range(20):
            await db.execute("SELECT pg_notify('uptime_events', $1)", change(n))
        await db.execute(
            "UPDATE api_token SET revoked_at = now() WHERE id = $1", _token_key(row["id"])
        )
        await db.execute("SELECT pg_notify('uptime_tokens', $1)", str(_token_key(row["id"])))
        for n in range(20, 40):
            await db.execute("SELECT pg_notify('uptime_events', $1)", change(n))
    for ws in sockets:
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                await asyncio.wait_for(ws.recv(), timeout=5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403
    await asyncio.sleep(0.5)
    noisy = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert not noisy, [logging.Formatter().format(r) for r in noisy]


def _token_key(global_id: str) -> int:
    import base64

    return int(base64.urlsafe_b64decode(global_id).decode().partition(":")[2])
