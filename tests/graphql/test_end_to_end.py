"""The whole product as a client sees it: `uptime api` and `uptime worker` processes, a real
GraphQL client (gql) over HTTP and graphql-transport-ws, a real local target."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from gql import Client, GraphQLRequest
from gql.transport.exceptions import TransportServerError
from gql.transport.httpx import HTTPXAsyncTransport
from gql.transport.websockets import WebsocketsTransport

from tests.support.net import free_port, wait_for_http
from tests.support.peers import HttpPeer
from tests.support.processes import StartWorker

TOKEN = "e2e-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def api_process(database_url: str, tmp_path: Path) -> Iterator[str]:
    port = free_port()
    log = (tmp_path / "api.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "uptime_cli", "api"],
        env={
            **os.environ,
            "DATABASE_URL": database_url,
            "UPTIME_API_PORT": str(port),
            "UPTIME_API_TOKEN": TOKEN,
        },
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    try:
        wait_for_http(f"http://127.0.0.1:{port}/readyz", timeout=30)
        yield f"127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()


@pytest.fixture
async def http_target() -> AsyncIterator[HttpPeer]:
    peer = await HttpPeer().start("127.0.0.1", None)
    yield peer
    if peer._server is not None and peer._server.is_serving():
        await peer.stop()


def ws_transport(address: str, init: dict[str, Any]) -> WebsocketsTransport:
    return WebsocketsTransport(
        url=f"ws://{address}/graphql",
        subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL],
        init_payload=init,
    )


async def next_event(subscription: AsyncIterator[Any], within: float) -> Any:
    return await asyncio.wait_for(subscription.__anext__(), timeout=within)


async def test_create_watch_it_go_down_and_read_its_uptime(
    api_process: str, database_url: str, start_worker: StartWorker, http_target: HttpPeer
) -> None:
    worker = start_worker(database_url, "e2e")
    await worker.ready()
    http = Client(transport=HTTPXAsyncTransport(url=f"http://{api_process}/graphql", headers=AUTH))
    async with http as session:
        created = await session.execute(
            GraphQLRequest(
                """mutation($url: String!) {
                     createTarget(input: {name: "local", kind: HTTP, url: $url, intervalSeconds: 1,
                                          timeoutSeconds: 1, failureThreshold: 2}) {
                       ... on Target { id status }
                       ... on ValidationError { field message } } }""",
                variable_values={"url": http_target.url("/ok")},
            ),
        )
        target = created["createTarget"]
        assert target["status"] == "UNKNOWN", target

        async with Client(transport=ws_transport(api_process, {"token": TOKEN})) as live:
            checks = live.subscribe(
                GraphQLRequest(
                    "subscription($ids: [ID!]) { checkCompleted(targetIds: $ids) "
                    "{ status latencyMs target { id } } }",
                    variable_values={"ids": [target["id"]]},
                ),
            )
            check = await next_event(checks, within=1 + 2 + 1)  # interval + 2 s (+ first slot)
            assert check["checkCompleted"]["status"] == "UP"
            assert check["checkCompleted"]["target"]["id"] == target["id"]

            changes = live.subscribe(
                GraphQLRequest(
                    "subscription { targetStatusChanged { target { id } previous current at } }"
                )
            )
            # Subscribe, then break the target: the change must come through.
            waiting = asyncio.ensure_future(next_event(changes, within=15))
            await asyncio.sleep(0.5)
            await http_target.stop()
            change = (await waiting)["targetStatusChanged"]
            while change["current"] != "DOWN":
                change = (await next_event(changes, within=10))["targetStatusChanged"]
            assert change["target"]["id"] == target["id"]

        uptime = await session.execute(
            GraphQLRequest(
                """query($id: ID!) { target(id: $id) { status
                     uptime(window: LAST_HOUR) { ratio coverage checks failures
                                                 latency { p50Ms } } } }""",
                variable_values={"id": target["id"]},
            ),
        )
    answer = uptime["target"]
    assert answer["status"] == "DOWN"
    assert answer["uptime"]["ratio"] is not None and 0 < answer["uptime"]["ratio"] < 1
    assert answer["uptime"]["failures"] >= 2
    assert await worker.stop() == 0


def close_code(error: BaseException | None) -> int | None:
    """The WebSocket close code somewhere in an exception's chain."""
    while error is not None:
        received = getattr(error, "rcvd", None)
        if received is not None:
            return int(received.code)
        error = error.__cause__ or error.__context__
    return None


async def test_subscriptions_need_the_token(api_process: str) -> None:
    query = GraphQLRequest("subscription { targetStatusChanged { at } }")
    for init in ({}, {"token": "wrong"}, {"Authorization": "Bearer wrong"}):
        with pytest.raises(Exception) as refused:
            async with Client(transport=ws_transport(api_process, init)) as live:
                async for _ in live.subscribe(query):
                    break
        assert close_code(refused.value) == 4403, (init, refused.value)  # Forbidden
    async with Client(transport=ws_transport(api_process, {"token": TOKEN})) as live:
        subscription = live.subscribe(query)
        with pytest.raises(TimeoutError):  # accepted: it waits for a change that won't come
            await next_event(subscription, within=1)


async def test_http_without_the_token_is_unauthenticated(api_process: str) -> None:
    client = Client(transport=HTTPXAsyncTransport(url=f"http://{api_process}/graphql"))
    with pytest.raises(Exception) as refused:
        async with client as session:
            await session.execute(GraphQLRequest("{ version }"))
    assert "UNAUTHENTICATED" in str(refused.value) or "token" in str(refused.value), refused.value
    assert not isinstance(refused.value, TransportServerError), "an answer, not a 5xx"
