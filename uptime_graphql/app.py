"""The FastAPI application: health endpoints and the GraphQL endpoint."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn
from fastapi import FastAPI, Response
from strawberry.fastapi import GraphQLRouter

from uptime_core.db import create_engine
from uptime_core.health import readiness_problem
from uptime_core.migrations import current_revision
from uptime_core.settings import Settings
from uptime_graphql.schema import schema


def create_app(settings: Settings, database_url: str) -> FastAPI:
    """The API for one database."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.engine = create_engine(database_url, settings)
        try:
            yield
        finally:
            await app.state.engine.dispose()

    app = FastAPI(title="uptime", lifespan=lifespan, docs_url=None, redoc_url=None)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz(response: Response) -> dict[str, str]:
        problem = await readiness_problem(lambda: current_revision(app.state.engine))
        if problem is not None:
            response.status_code = 503
            return {"status": "unavailable", "reason": problem}
        return {"status": "ready"}

    # GraphiQL is off until it can be served without fetching anything from outside the app.
    app.include_router(GraphQLRouter(schema, graphql_ide=None), prefix="/graphql")
    return app


def serve(settings: Settings, database_url: str) -> None:
    """Serve the API until SIGINT or SIGTERM (uvicorn finishes open requests first)."""
    uvicorn.run(
        create_app(settings, database_url),
        host=settings.api_host,
        port=settings.api_port,
        log_level=settings.log_level,
        access_log=False,
        lifespan="on",
    )
