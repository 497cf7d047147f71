"""The API's edges, tried as an attacker would (issue 13): a token that is no secret, DNS
rebinding without a token, huge bodies, secrets and tracebacks in the log, deep nesting.

Real processes (`uptime api`) and real sockets on loopback; raw sockets where a client library
would hide what is sent (a body that is never finished, one sent while the answer is read).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import os
import secrets
import select
import socket
import subprocess
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from graphql import GraphQLError
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.typing import Origin, Subprotocol

from tests.graphql.conftest import ServeApi
from tests.support.net import free_port, wait_for_http
from tests.support.wait import poll_until
from uptime_core.runtime.settings import EXAMPLE_API_TOKENS, Settings
from uptime_graphql.context import token_matches
from uptime_graphql.guards import host_of, is_local_name
from uptime_graphql.schema import schema

TOKEN = secrets.token_hex(32)
SLACK_URL = "https://hooks.slack.com/services/T000/B000/SECRETSECRET"
BEARER_SECRET = "Bearer SECRETBEARERVALUE0123456789"
SECRETS = ("SECRETSECRET", "SECRETBEARERVALUE", TOKEN)
UNREACHABLE_DATABASE = "postgresql://uptime:unused@127.0.0.1:9/uptime"
WS_PROTOCOL = [Subprotocol("graphql-transport-ws")]
MIB = 1024 * 1024


# -- an `uptime api` process ------------------------------------------------------------------


class ApiProcess:
    """`uptime api` as it runs in production, its log (stdout and stderr) in a file."""

    def __init__(self, log_path: Path, **settings: str) -> None:
        self.port = free_port()
        self.log_path = log_path
        env = {k: v for k, v in os.environ.items() if not k.startswith("UPTIME_")}
        env.update({"UPTIME_API_PORT": str(self.port), "UPTIME_LOG_LEVEL": "info"})
        env.update({f"UPTIME_{k.upper()}": v for k, v in settings.items() if k != "database_url"})
        env["DATABASE_URL"] = settings.get("database_url", UNREACHABLE_DATABASE)
        with log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "uptime_cli", "api"],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        wait_for_http(f"{self.url}/healthz", timeout=60)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def lines(self) -> list[str]:
        return self.log_path.read_text(errors="replace").splitlines()

    def memory_kib(self, field: str) -> int:
        """``VmRSS`` or ``VmHWM`` (peak) of the process, from /proc."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
        raise AssertionError(f"no {field} in /proc/{self.process.pid}/status")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture
def start_api(tmp_path: Path) -> Iterator[Any]:
    started: list[ApiProcess] = []

    def start(**settings: str) -> ApiProcess:
        api = ApiProcess(tmp_path / f"api-{len(started)}.log", **settings)
        started.append(api)
        return api

    yield start
    for api in started:
        api.stop()


def send_and_read(
    port: int, head: str, body: Iterable[bytes] = (), *, chunked: bool = False
) -> tuple[int, bytes, int]:
    """Send ``head`` then ``body`` on a raw connection, stopping as soon as an answer comes;
    (status, answer, body bytes sent). Blocking sockets (run it in a thread): after the
    server closes, the answer stays readable, where asyncio's streams would drop it."""
    sent = 0
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        try:
            sock.sendall(head.encode())
            for chunk in body:
                if select.select([sock], [], [], 0)[0]:
                    break  # the server answered (or closed) before the body was all sent
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk) if chunked else chunk)
                sent += len(chunk)
            else:
                if chunked:
                    sock.sendall(b"0\r\n\r\n")
        except (ConnectionResetError, BrokenPipeError):
            pass  # the server closed the connection after answering, as it may
        received = b""
        try:
            while data := sock.recv(65536):
                received += data
        except ConnectionResetError:
            pass
    assert received.startswith(b"HTTP/1.1 "), received[:200]
    return int(received.split(b" ", 2)[1]), received, sent


async def exchange(
    port: int, head: str, body: Iterable[bytes] = (), *, chunked: bool = False
) -> tuple[int, bytes, int]:
    return await asyncio.to_thread(send_and_read, port, head, body, chunked=chunked)


def post_head(port: int, *, length: int | None, extra: str = "") -> str:
    framing = f"content-length: {length}" if length is not None else "transfer-encoding: chunked"
    return (
        f"POST /graphql HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\n"
        f"content-type: application/json\r\n{framing}\r\n{extra}connection: close\r\n\r\n"
    )


def lazy_body(total: int, piece: int = 64 * 1024) -> Iterator[bytes]:
    """``total`` bytes of a JSON-looking body, made as it is sent (one piece in memory)."""
    filler = b"x" * piece
    yield b'{"query": "'
    yield from itertools.repeat(filler, total // piece)


# -- a token that is no secret stops the program ------------------------------------------------


@pytest.mark.parametrize("command", ["api", "run"])
@pytest.mark.parametrize("token", ["", "   ", *sorted(EXAMPLE_API_TOKENS)])
def test_an_empty_or_example_token_stops_the_program_with_one_line(
    command: str, token: str, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("UPTIME_")}
    env.update(
        {
            "UPTIME_API_TOKEN": token,
            "UPTIME_API_HOST": "0.0.0.0",
            "UPTIME_API_PORT": str(free_port()),
            "UPTIME_DATA_DIR": str(tmp_path / "data"),
            "DATABASE_URL": UNREACHABLE_DATABASE,
        }
    )
    result = subprocess.run(
        [sys.executable, "-m", "uptime_cli", command],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2, result
    (line,) = result.stderr.splitlines()
    assert line.startswith("uptime: error: ") and "UPTIME_API_TOKEN" in line
    assert "openssl rand" in line  # says how to make a real one
    assert result.stdout == ""
    assert not (tmp_path / "data").exists()  # nothing was started


def test_the_token_check_is_never_satisfied_by_an_empty_value() -> None:
    settings = Settings(api_token=TOKEN)
    assert token_matches(TOKEN, settings)
    for presented in (None, "", " ", TOKEN[:-1], TOKEN + "x", TOKEN.upper()):
        assert not token_matches(presented, settings), presented
    # Even settings that skipped validation: an empty configured token matches nothing.
    unvalidated = Settings.model_construct(api_token=Settings(api_token="x" * 40).api_token)
    object.__setattr__(unvalidated.api_token, "_secret_value", "")
    assert not token_matches("", unvalidated) and not token_matches(None, unvalidated)


# -- with a token, every operation needs it ------------------------------------------------------


async def subscribe(
    url: str,
    payload: dict[str, Any] | None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """connection_init with ``payload``, then a subscription: the server's first answer, or
    ``{"closed": code}``."""
    ws_url = url.replace("http://", "ws://") + "/graphql"
    async with connect(ws_url, subprotocols=WS_PROTOCOL, additional_headers=headers) as ws:
        init: dict[str, Any] = {"type": "connection_init"}
        if payload is not None:
            init["payload"] = payload
        await ws.send(json.dumps(init))
        try:
            answer: dict[str, Any] = json.loads(await ws.recv())
        except ConnectionClosed as closed:
            assert closed.rcvd is not None
            return {"closed": closed.rcvd.code}
        assert answer == {"type": "connection_ack"}
        return answer


async def test_with_a_token_queries_mutations_and_subscriptions_all_need_it(
    serve_api: ServeApi, database_url: str
) -> None:
    settings = Settings(database_url=database_url, api_token=TOKEN)
    operations = {
        "query": "{ targets(first: 1) { edges { node { id } } } }",
        "introspection": "{ __schema { queryType { name } } }",
        "mutation": 'mutation { pauseTarget(id: "VGFyZ2V0OjE=") { __typename } }',
    }
    async with serve_api(database_url, settings) as url, httpx.AsyncClient(base_url=url) as http:
        for name, query in operations.items():
            for headers in (
                {},
                {"authorization": "Bearer"},
                {"authorization": "Bearer wrong"},
                {"authorization": f"Basic {TOKEN}"},
                {"authorization": f"Bearer {TOKEN}x"},
            ):
                answer = await http.post("/graphql", json={"query": query}, headers=headers)
                body = answer.json()
                assert body["data"] is None, (name, headers, body)
                assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
            # A query over GET too.
            if name != "mutation":
                answer = await http.get("/graphql", params={"query": query})
                assert answer.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
            good = await http.post(
                "/graphql", json={"query": query}, headers={"authorization": f"Bearer {TOKEN}"}
            )
            assert "errors" not in good.json(), (name, good.json())

        # Subscriptions: connection_init must carry the token; an empty one is refused.
        for payload in (None, {}, {"token": ""}, {"token": " "}, {"token": "wrong"}):
            assert await subscribe(url, payload) == {"closed": 4403}, payload
        assert await subscribe(url, {"Authorization": "Bearer "}) == {"closed": 4403}
        assert await subscribe(url, {"token": TOKEN}) == {"type": "connection_ack"}
        assert await subscribe(url, {"Authorization": f"Bearer {TOKEN}"}) == {
            "type": "connection_ack"
        }
        # The upgrade's Authorization header is the token too (documented in docs/api.md); a
        # wrong one anywhere refuses the connection, whatever else is right.
        right = {"Authorization": f"Bearer {TOKEN}"}
        wrong = {"Authorization": "Bearer wrong"}
        assert await subscribe(url, None, right) == {"type": "connection_ack"}
        assert await subscribe(url, {"token": "wrong"}, right) == {"closed": 4403}
        assert await subscribe(url, {"token": TOKEN}, wrong) == {"closed": 4403}
        assert await subscribe(url, None, {"Authorization": "Bearer"}) == {"closed": 4403}


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


# -- bodies above the limit: 413, unread -----------------------------------------------------------


async def test_a_100_mb_body_gets_413_and_the_api_memory_stays_flat(
    database_url: str, start_api: Any
) -> None:
    api: ApiProcess = start_api(database_url=database_url)
    total = 100 * MIB
    # Warm up: the first request loads what serving one needs.
    async with httpx.AsyncClient(base_url=api.url) as http:
        assert (await http.post("/graphql", json={"query": "{ version }"})).status_code == 200
    rss_before = api.memory_kib("VmRSS")

    # Four at once with the length declared, four at once chunked (counted while streaming).
    declared = [
        exchange(api.port, post_head(api.port, length=total), lazy_body(total)) for _ in range(4)
    ]
    chunked = [
        exchange(api.port, post_head(api.port, length=None), lazy_body(total), chunked=True)
        for _ in range(4)
    ]
    for status, answer, sent in await asyncio.gather(*declared, *chunked):
        assert status == 413, answer[:300]
        assert b"UPTIME_API_MAX_BODY_BYTES" in answer
        assert sent < total / 4, sent  # cut off, not read to the end

    grown_mib = (api.memory_kib("VmHWM") - rss_before) / 1024
    # Eight 100 MB bodies: had any been read, the peak would have grown by 100 MB or more.
    assert grown_mib < 16, f"the API's peak memory grew by {grown_mib:.0f} MiB"

    # A WebSocket message obeys the same limit (uvicorn's ws_max_size), and one nested too
    # deeply is refused like any message that is not JSON.
    ws_url = f"ws://127.0.0.1:{api.port}/graphql"
    for message, code in (("x" * (2 * MIB), 1009), ("[" * 100_000 + "]" * 100_000, 4400)):
        async with connect(ws_url, subprotocols=WS_PROTOCOL, max_size=None) as ws:
            await ws.send(message)
            with pytest.raises(ConnectionClosed) as closed:
                await ws.recv()
            assert closed.value.rcvd is not None and closed.value.rcvd.code == code

    # A body under the limit is still served.
    query = "{ version }" + " " * (MIB - 4096)
    async with httpx.AsyncClient(base_url=api.url) as http:
        served = await http.post("/graphql", json={"query": query})
        assert served.status_code == 200 and "version" in served.json()["data"]
    assert api.process.poll() is None
    api.stop()
    log = api.log_path.read_text(errors="replace")
    assert "Traceback" not in log and " ERROR " not in log, log


# -- logs a secret never reaches -----------------------------------------------------------------


CREATE_CHANNEL_INLINE = (
    'mutation { createChannel(input: {name: "chat", kind: SLACK, allTargets: true, '
    f'slack: {{url: "{SLACK_URL}", colour: "red"}}}}) {{ __typename }} }}'
)
CREATE_CHANNEL = (
    "mutation ($input: CreateChannelInput!) { createChannel(input: $input) { __typename } }"
)
CREATE_TARGET = (
    "mutation CreateShop($input: CreateTargetInput!) { createTarget(input: $input) { __typename } }"
)
CREATE_TARGET_INLINE = (
    'mutation { createTarget(input: {name: "shop", kind: HTTP, url: "http://127.0.0.1:9/", '
    f'http: {{headers: [{{name: "Authorization", value: "{BEARER_SECRET}"}}], '
    "retries: 3}}) { __typename } }"
)
CHANNEL_VARIABLES = {
    "input": {
        "name": "chat",
        "kind": "SLACK",
        "allTargets": True,
        "slack": {"url": SLACK_URL, "colour": "red"},
    }
}
TARGET_VARIABLES = {
    "input": {
        "name": "shop",
        "kind": "HTTP",
        "url": "http://127.0.0.1:9/",
        "http": {"headers": [{"name": "Authorization", "value": BEARER_SECRET}], "retries": 3},
    }
}


async def test_client_errors_are_one_info_line_without_secrets_or_tracebacks(
    database_url: str, start_api: Any
) -> None:
    api: ApiProcess = start_api(database_url=database_url, api_token=TOKEN)
    right = {"authorization": f"Bearer {TOKEN}"}
    seen = len(api.lines())

    async def new_lines(at_least: int = 1) -> list[str]:
        nonlocal seen

        async def read() -> list[str]:
            return api.lines()[seen:]

        lines = await poll_until(read, lambda lines: len(lines) >= at_least, within=10)
        seen += len(lines)
        return lines

    async def one_info_line(what: str) -> str:
        (line,) = await new_lines()
        assert " INFO " in line, (what, line)
        return line

    async with httpx.AsyncClient(base_url=api.url, timeout=30) as http:

        async def post(body: object, headers: dict[str, str]) -> httpx.Response:
            return await http.post("/graphql", json=body, headers=headers)

        for what, body in (
            ("unknown field, inline", {"query": CREATE_CHANNEL_INLINE}),
            ("unknown field, variables", {"query": CREATE_CHANNEL, "variables": CHANNEL_VARIABLES}),
            ("header value, inline", {"query": CREATE_TARGET_INLINE}),
            ("header value, variables", {"query": CREATE_TARGET, "variables": TARGET_VARIABLES}),
        ):
            for headers in (right, {}, {"authorization": "Bearer wrong"}):
                answer = await post(body, headers)
                assert answer.status_code == 200 and answer.json()["errors"], answer.text
                line = await one_info_line(what)
                assert "refused" in line
                if headers is not right:
                    assert "unauthenticated" in line
        # A scalar refusing a variable's value (it raises inside graphql-core's coercion).
        window = {"name": "w", "kind": "ONCE", "startsAt": "SECRETSECRET", "endsAt": "x"}
        answer = await post(
            {
                "query": "mutation ($input: CreateMaintenanceWindowInput!) "
                "{ createMaintenanceWindow(input: $input) { __typename } }",
                "variables": {"input": window},
            },
            right,
        )
        assert answer.status_code == 200 and answer.json()["errors"], answer.text
        assert "variables" in await one_info_line("bad scalar")
        # A syntax error quoting the secret in the source around it.
        answer = await post({"query": CREATE_TARGET_INLINE.replace("{ __typename }", "{")}, right)
        assert answer.json()["errors"]
        await one_info_line("syntax error")

        # Variables nested 100,000 lists deep: a 400 that says why, never a 500.
        deep = '{"query": "{ version }", "variables": {"x": ' + "[" * 100_000 + "]" * 100_000 + "}}"
        answer = await http.post(
            "/graphql", content=deep, headers={**right, "content-type": "application/json"}
        )
        assert answer.status_code == 400
        assert answer.text == "Request JSON is nested deeper than 64 levels"
        await one_info_line("deep variables")
        # The same in the query's own text: an error answer, not a 500.
        literal = "{ version(x: " + "[" * 2000 + "]" * 2000 + ") }"
        answer = await post({"query": literal}, right)
        assert answer.status_code == 200, answer.text
        assert "nested too deeply" in answer.json()["errors"][0]["message"]
        assert "syntax" in await one_info_line("deep literal")
        answer = await http.post(
            "/graphql", content=b"{not json", headers={**right, "content-type": "application/json"}
        )
        assert answer.status_code == 400
        await one_info_line("not JSON")

    # An upload abandoned half-way: the client goes away before the declared length.
    _, writer = await asyncio.open_connection("127.0.0.1", api.port)
    writer.write(
        post_head(api.port, length=10_000, extra=f"authorization: Bearer {TOKEN}\r\n").encode()
    )
    writer.write(b'{"query": "' + SLACK_URL.encode() + b" " * 100)
    await writer.drain()
    writer.close()
    await writer.wait_closed()
    assert "went away" in await one_info_line("abandoned upload")

    # Too large: one line, and the answer is 413.
    status, _, _ = await exchange(api.port, post_head(api.port, length=2 * MIB), lazy_body(2 * MIB))
    assert status == 413
    await one_info_line("too large")

    # A WebSocket with a wrong token (uvicorn adds its own lines for the connection).
    assert await subscribe(api.url, {"token": "wrong"}) == {"closed": 4403}

    async def log_text() -> str:
        return "\n".join(api.lines()[seen:])

    refusals = await poll_until(log_text, lambda text: "connection_init" in text, within=10)
    assert refusals.count("connection_init") == 1

    api.stop()
    log = api.log_path.read_text(errors="replace")
    for secret in SECRETS:
        assert secret not in log
    assert "Traceback" not in log
    assert " ERROR " not in log and " WARNING " not in log, log


async def test_a_server_error_is_logged_with_its_traceback_but_not_the_request(
    serve_api: ServeApi, caplog: pytest.LogCaptureFixture
) -> None:
    # A database nobody listens on: resolvers fail with an error of the server's own.
    async with (
        serve_api(UNREACHABLE_DATABASE, Settings(database_url=UNREACHABLE_DATABASE)) as url,
        httpx.AsyncClient(base_url=url, timeout=30) as http,
    ):
        caplog.clear()
        caplog.set_level("INFO")
        query = 'query Shop { targets(search: "SECRETSECRET") { edges { node { id } } } }'
        answer = await http.post("/graphql", json={"query": query})
        assert answer.status_code == 200 and answer.json()["errors"]
    records = [r for r in caplog.records if r.name.startswith(("uptime.api", "strawberry"))]
    (record,) = records
    assert record.levelname == "ERROR"
    text = logging.Formatter().format(record)
    assert "operation Shop failed at targets" in text
    assert "Traceback" in text and 'File "' in text  # the frames, to find the fault
    assert "ConnectionRefusedError: " in text  # an OS error's message says what failed
    assert "SECRETSECRET" not in text and "search" not in text


def test_a_server_error_quoting_the_input_is_logged_without_its_message(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # An exception whose message quotes a value (as asyncpg's DataError or pydantic's
    # ValidationError do): its type and frames are logged, never its message.
    try:
        raise ValueError(f"invalid input for query argument $1: {SLACK_URL!r}")
    except ValueError as raised:
        error = GraphQLError(str(raised), path=["createChannel"], original_error=raised)
    operation = SimpleNamespace(graphql_document=object(), operation_name="Create")
    caplog.set_level("INFO", logger="uptime.api")
    schema.process_errors([error], operation)  # type: ignore[arg-type]
    (record,) = caplog.records
    text = record.getMessage()
    assert record.levelname == "ERROR" and "operation Create failed at createChannel" in text
    assert "builtins.ValueError" in text and "Traceback" in text
    assert "SECRETSECRET" not in text
