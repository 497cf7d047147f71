"""A token that is no secret stops the program; with a token, every operation needs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.graphql.conftest import ServeApi
from tests.graphql.trust.support import TOKEN, UNREACHABLE_DATABASE, subscribe
from tests.support.net import free_port
from uptime_core.runtime.settings import EXAMPLE_API_TOKENS, Settings
from uptime_graphql.context import token_matches

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
