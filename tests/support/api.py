"""The API served over real HTTP on a loopback port, in the test's own event loop."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn

from uptime_core.runtime.settings import Settings
from uptime_graphql.app import create_app


@asynccontextmanager
async def serve_api(database_url: str, settings: Settings | None = None) -> AsyncIterator[str]:
    """``async with serve_api(database_url[, settings]) as base_url:`` runs the API until the
    block ends."""
    settings = settings or Settings(database_url=database_url)
    config = uvicorn.Config(
        create_app(settings, database_url),
        host="127.0.0.1",
        port=0,
        log_level="warning",
        lifespan="on",
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
