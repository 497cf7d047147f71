"""The API served over real HTTP on a loopback port, in the test's own event loop."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import httpx
import pytest

from tests.support.api import serve_api as serve

ServeApi = Callable[..., AbstractAsyncContextManager[str]]


@pytest.fixture
def serve_api() -> ServeApi:
    """``async with serve_api(database_url[, settings]) as base_url:`` runs the API until the
    block ends (tests/support/api.py)."""
    return serve


@pytest.fixture
async def api_url(serve_api: ServeApi, database_url: str) -> AsyncIterator[str]:
    async with serve_api(database_url) as base:
        yield base


class Api:
    """GraphQL over HTTP as a client sends it; ``forbidden`` strings (secrets) must never
    appear in an answer."""

    def __init__(self, client: httpx.AsyncClient, forbidden: tuple[str, ...] = ()) -> None:
        self.client = client
        self.forbidden = forbidden

    async def call(self, query: str, **variables: Any) -> dict[str, Any]:
        response = await self.client.post("/graphql", json={"query": query, "variables": variables})
        assert response.status_code == 200, response.text
        for secret in self.forbidden:
            assert secret not in response.text
        body: dict[str, Any] = response.json()
        return body

    async def data(self, query: str, **variables: Any) -> dict[str, Any]:
        body = await self.call(query, **variables)
        assert "errors" not in body, body
        result: dict[str, Any] = body["data"]
        return result


@pytest.fixture
async def api(api_url: str) -> AsyncIterator[Api]:
    async with httpx.AsyncClient(base_url=api_url, timeout=10) as client:
        yield Api(client)
