"""Logs a secret never reaches: client errors are one info line without secrets or
tracebacks; a server error is logged with its traceback but not the request."""

from __future__ import annotations

import asyncio
import logging
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from graphql import GraphQLError

from tests.graphql.conftest import ServeApi
from tests.graphql.trust.support import (
    BEARER_SECRET,
    MIB,
    SECRETS,
    SLACK_URL,
    TOKEN,
    UNREACHABLE_DATABASE,
    ApiProcess,
    exchange,
    lazy_body,
    post_head,
    subscribe,
)
from tests.support.wait import poll_until
from uptime_core.runtime.settings import Settings
from uptime_graphql.schema import schema

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
