"""Without a token, this machine's names only (DNS rebinding is refused); allowed hosts, or
any host with a token."""

from __future__ import annotations

import json

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus
from websockets.typing import Origin

from tests.graphql.conftest import ServeApi
from tests.graphql.trust.support import TOKEN, WS_PROTOCOL
from uptime_core.runtime.settings import Settings
from uptime_graphql.guards import host_of, is_local_name

# -- without a token, this machine's names only --------------------------------------------------


LOCAL = ("localhost", "LOCALHOST:8000", "app.localhost:1", "127.0.0.1", "127.9.9.9:80", "[::1]")
LOCAL_TOO = ("[::1]:8000", "localhost.")
NOT_LOCAL = ("evil.example", "evil.example:8000", "localhost.evil.example", "127.0.0.1.nip.io")
NOT_LOCAL_TOO = ("10.0.0.1", "[::2]:80", "0.0.0.0", "[::ffff:8.8.8.8]")
MALFORMED = ("", "evil@127.0.0.1", "127.0.0.1:99999", "127.0.0.1:x", "[::1", "a b")


def test_local_names_are_loopback_names_and_addresses_only() -> None:
    for authority in LOCAL + LOCAL_TOO:
        host = host_of(authority)
        assert host is not None and is_local_name(host), authority
    for authority in NOT_LOCAL + NOT_LOCAL_TOO:
        host = host_of(authority)
        assert host is None or not is_local_name(host), authority
    for malformed in MALFORMED:
        assert host_of(malformed) is None, malformed


async def test_without_a_token_a_rebinding_host_is_refused_everywhere(
    serve_api: ServeApi, database_url: str
) -> None:
    create = (
        'mutation { createTarget(input: {name: "x", kind: TCP, host: "127.0.0.1", port: 9}) '
        "{ __typename } }"
    )
    async with serve_api(database_url) as url, httpx.AsyncClient(base_url=url) as http:
        port = url.rsplit(":", 1)[1]
        evil = {"host": f"evil.example:{port}", "origin": f"http://evil.example:{port}"}
        for method, path, body in (
            ("POST", "/graphql", {"query": "{ targets { edges { node { id } } } }"}),
            ("POST", "/graphql", {"query": create}),
            ("GET", "/graphql?query=%7Bversion%7D", None),
            ("GET", "/graphql", None),
            ("GET", "/ui/", None),
            ("GET", "/static/graphiql.js", None),
        ):
            answer = await http.request(method, path, json=body, headers=evil)
            assert answer.status_code == 421, (method, path, answer.text)
            assert "UPTIME_API_ALLOWED_HOSTS" in answer.text
        # Nothing was created through the refused mutation.
        targets = await http.post("/graphql", json={"query": "{ targets { edges { cursor } } }"})
        assert targets.json() == {"data": {"targets": {"edges": []}}}

        # The same host without an Origin (a script, not a browser), and an allowed host with a
        # foreign Origin (a page elsewhere posting here): both refused.
        script = await http.post(
            "/graphql", json={"query": "{version}"}, headers={"host": "evil.example"}
        )
        assert script.status_code == 421
        foreign = await http.post(
            "/graphql",
            json={"query": create},
            headers={"origin": "http://evil.example", "content-type": "application/json"},
        )
        assert foreign.status_code == 403 and "origin not allowed" in foreign.text
        for origin in ("null", "http://[::1", "file://", "http://127.0.0.1@evil.example"):
            answer = await http.post(
                "/graphql", json={"query": "{version}"}, headers={"origin": origin}
            )
            assert answer.status_code == 403, origin

        # WebSockets: the upgrade is refused (403: see guards.refuse), with or without Origin.
        ws_url = url.replace("http://", "ws://") + "/graphql"
        evil_ws_url = f"ws://evil.example:{port}/graphql"
        for ws_origin in (Origin(f"http://evil.example:{port}"), None):
            with pytest.raises(InvalidStatus) as refused:
                async with connect(
                    evil_ws_url,
                    host="127.0.0.1",
                    port=int(port),
                    subprotocols=WS_PROTOCOL,
                    origin=ws_origin,
                ):
                    pass
            assert refused.value.response.status_code == 403
        # A page of another origin on this machine may not open one either.
        with pytest.raises(InvalidStatus) as refused:
            async with connect(
                ws_url, subprotocols=WS_PROTOCOL, origin=Origin("http://localhost:1")
            ):
                pass
        assert refused.value.response.status_code == 403

        # Loopback names and addresses are answered, with or without a port.
        local = ("localhost", f"localhost:{port}", "uptime.localhost", f"127.0.0.2:{port}")
        for host in (*local, f"[::1]:{port}", "[::1]"):
            answer = await http.post(
                "/graphql",
                json={"query": "{ version }"},
                headers={"host": host, "origin": f"http://{host}"},
            )
            assert answer.status_code == 200 and "version" in answer.json()["data"], host
        same_origin = Origin(f"http://127.0.0.1:{port}")
        async with connect(ws_url, subprotocols=WS_PROTOCOL, origin=same_origin) as ws:
            await ws.send(json.dumps({"type": "connection_init"}))
            assert json.loads(await ws.recv()) == {"type": "connection_ack"}

        # Health answers under any name (no data in it; probes use the pod's address).
        assert (await http.get("/healthz", headers=evil)).status_code == 200


async def test_allowed_hosts_are_answered_without_a_token_and_any_host_with_one(
    serve_api: ServeApi, database_url: str
) -> None:
    allowed = Settings(database_url=database_url, api_allowed_hosts="monitor.lan,Other.Lan")
    async with serve_api(database_url, allowed) as url, httpx.AsyncClient(base_url=url) as http:
        for host in ("monitor.lan", "monitor.lan:8000", "other.lan"):
            answer = await http.post(
                "/graphql",
                json={"query": "{ version }"},
                headers={"host": host, "origin": f"http://{host}"},
            )
            assert answer.status_code == 200, host
        assert (await http.get("/ui/", headers={"host": "evil.lan"})).status_code == 421

    # With a token, the token is the guard: a reverse proxy may use any name.
    with_token = Settings(database_url=database_url, api_token=TOKEN)
    async with serve_api(database_url, with_token) as url, httpx.AsyncClient(base_url=url) as http:
        answer = await http.post(
            "/graphql",
            json={"query": "{ version }"},
            headers={"host": "uptime.example.com", "authorization": f"Bearer {TOKEN}"},
        )
        assert answer.status_code == 200 and "version" in answer.json()["data"]
