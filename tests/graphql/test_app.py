"""The API's health endpoints and GraphQL endpoint, over real HTTP."""

from __future__ import annotations

import os
import subprocess
import sys

import httpx

from tests.graphql.conftest import ServeApi
from uptime_core import __version__


async def test_healthz_and_readyz_answer_on_a_migrated_database(api_url: str) -> None:
    async with httpx.AsyncClient(base_url=api_url) as client:
        assert (await client.get("/healthz")).status_code == 200
        ready = await client.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json() == {"status": "ready"}


async def test_readyz_fails_until_migrations_are_applied(
    serve_api: ServeApi, empty_database_url: str
) -> None:
    async with serve_api(empty_database_url) as base, httpx.AsyncClient(base_url=base) as client:
        assert (await client.get("/healthz")).status_code == 200
        ready = await client.get("/readyz")
        assert ready.status_code == 503
        assert "uptime migrate" in ready.json()["reason"]


async def test_readyz_fails_when_the_database_is_unreachable(serve_api: ServeApi) -> None:
    async with (
        serve_api("postgresql://u@127.0.0.1:9/none") as base,
        httpx.AsyncClient(base_url=base) as client,
    ):
        assert (await client.get("/healthz")).status_code == 200
        ready = await client.get("/readyz")
        assert ready.status_code == 503
        assert "unreachable" in ready.json()["reason"]


async def test_graphql_answers_typename_and_version(api_url: str) -> None:
    async with httpx.AsyncClient(base_url=api_url) as client:
        answer = await client.post("/graphql", json={"query": "{ __typename version }"})
    assert answer.status_code == 200
    assert answer.json() == {"data": {"__typename": "Query", "version": __version__}}


def test_api_refuses_a_public_address_without_a_token() -> None:
    env = {**os.environ, "DATABASE_URL": "postgresql://u@127.0.0.1:9/x", "UPTIME_API_HOST": "::"}
    env.pop("UPTIME_API_TOKEN", None)
    result = subprocess.run(
        [sys.executable, "-m", "uptime_cli", "api"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert "without a token" in result.stderr
    assert "Traceback" not in result.stderr


def test_api_without_database_url_says_how_to_get_one() -> None:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    result = subprocess.run(
        [sys.executable, "-m", "uptime_cli", "api"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert "DATABASE_URL" in result.stderr and "uptime run" in result.stderr
