"""The FastAPI application: health endpoints and the GraphQL endpoint."""

from __future__ import annotations

import functools
import gc
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import uvicorn

# cross-web is Strawberry's HTTP layer (one of its dependencies): the exception its views
# turn into an HTTP answer.
from cross_web import AsyncHTTPRequestAdapter, HTTPException
from fastapi import FastAPI, Request, Response, WebSocket
from strawberry.exceptions import ConnectionRejectionError
from strawberry.fastapi import GraphQLRouter
from strawberry.http import GraphQLRequestData
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler
from strawberry.types.unset import UNSET, UnsetType

from uptime_core.runtime.db import create_pool
from uptime_core.runtime.health import readiness_problem
from uptime_core.runtime.migrations import current_revision
from uptime_core.runtime.settings import Settings
from uptime_graphql import graphiql
from uptime_graphql.auth import authenticate
from uptime_graphql.context import Context, bearer
from uptime_graphql.dashboard import mount_dashboard
from uptime_graphql.guards import BodyLimit, HostGuard
from uptime_graphql.live.listener import LiveEvents
from uptime_graphql.live.shared_execution import SharedTexts
from uptime_graphql.public import badges, metrics, status
from uptime_graphql.schema import schema
from uptime_graphql.sessions import TokenSessions

# How deep a request's JSON (the body, `variables`, a WebSocket message) may nest. Our inputs
# need a handful of levels; Python's json gives up near 1,000 with a RecursionError.
MAX_JSON_DEPTH = 64

log = logging.getLogger("uptime.api")


class NestedTooDeeply(json.JSONDecodeError):
    """Request JSON nested deeper than MAX_JSON_DEPTH (a JSONDecodeError, so that Strawberry
    closes a WebSocket that sends it with 4400, as for any other message that is not JSON)."""

    def __init__(self) -> None:
        super().__init__(f"nested deeper than {MAX_JSON_DEPTH} levels", "", 0)


def nested_deeper_than(value: object, limit: int) -> bool:
    """True when lists and objects in ``value`` nest more than ``limit`` levels (iterative, so
    any depth is measured without recursion)."""
    stack: list[tuple[dict[Any, Any] | list[Any], int]] = []
    if isinstance(value, dict | list):
        stack.append((value, 1))
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        children = item.values() if isinstance(item, dict) else item
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


class TransportWSHandler(BaseGraphQLTransportWSHandler[Context, Any]):
    """Strawberry's graphql-transport-ws handler, whose operations a revocation can stop
    before it closes the socket (an event sent after the close would fail, and be logged as
    an error)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if isinstance(self.context, Context):
            self.context.stop_operations = self.stop_operations

    async def stop_operations(self) -> None:
        for operation_id in list(self.operations):
            await self.cleanup_operation(operation_id)


class LegacyWSHandler(BaseGraphQLWSHandler[Context, Any]):
    """The same for the older graphql-ws protocol."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if isinstance(self.context, Context):
            self.context.stop_operations = self.cleanup


class Router(GraphQLRouter[Context, Any]):
    """Serves our own GraphiQL page; refuses a subscription connection whose
    ``connection_init`` lacks the token; encodes a subscription result shared by many
    subscribers once (``live.shared_execution``)."""

    graphql_transport_ws_handler_class = TransportWSHandler
    graphql_ws_handler_class = LegacyWSHandler

    def encode_json(self, data: object) -> str | bytes:
        text = self._texts.next_message(data)
        return text if text is not None else super().encode_json(data)

    def decode_json(self, data: str | bytes) -> object:
        try:
            value = json.loads(data)
        except RecursionError:
            raise NestedTooDeeply() from None
        if nested_deeper_than(value, MAX_JSON_DEPTH):
            raise NestedTooDeeply()
        return value

    def parse_json(self, data: str | bytes) -> Any:
        try:
            return self.decode_json(data)
        except NestedTooDeeply as error:
            raise HTTPException(400, f"Request JSON is {error.msg}") from None
        except json.JSONDecodeError:
            raise HTTPException(400, "Unable to parse request body as JSON") from None

    async def parse_http_body(
        self, request: AsyncHTTPRequestAdapter
    ) -> GraphQLRequestData | list[GraphQLRequestData]:
        try:
            return await super().parse_http_body(request)
        except HTTPException as error:
            # Strawberry's reasons and ours are fixed texts: nothing of the request is in them.
            log.info("refused a GraphQL request (%d): %s", error.status_code, error.reason)
            raise

    def __init__(self, settings: Settings, sessions: TokenSessions, **options: Any) -> None:
        super().__init__(schema, graphql_ide="graphiql", **options)
        self.settings = settings
        self.sessions = sessions  # open WebSockets by named token, closed when it is revoked
        self._texts = SharedTexts()

    async def render_graphql_ide(self, request: Request) -> Response:  # type: ignore[override]
        return graphiql.page(request, token_required=self.settings.api_token is not None)

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        caller = await authenticate(context)
        if caller is None:
            log.info("refused a WebSocket connection_init: missing or wrong token (4403)")
            raise ConnectionRejectionError(
                {"message": "a valid token is required", "code": "UNAUTHENTICATED"}
            )
        if context.websocket is not None:
            self.sessions.add(context.websocket, caller, context.stop_operations)
        unset: UnsetType = UNSET
        return unset

    async def run(
        self, request: Request | WebSocket, context: Any = UNSET, root_value: Any = UNSET
    ) -> Any:
        try:
            return await super().run(request, context, root_value)
        finally:
            if isinstance(request, WebSocket):
                self.sessions.discard(request)


def create_app(settings: Settings, database_url: str) -> FastAPI:
    """The API for one database."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.pool = await create_pool(database_url, settings, connect_now=False)
        app.state.live = LiveEvents(database_url, app.state.pool)
        # A revoked token's WebSockets close at once (uptime_graphql.sessions).
        app.state.live.on_token_revoked = sessions.close_token
        app.state.live.on_listening = functools.partial(sessions.close_revoked, app.state.pool)
        await app.state.live.start()
        try:
            yield
        finally:
            await app.state.live.stop()
            await app.state.pool.close()

    app = FastAPI(title="uptime", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.settings = settings
    sessions = TokenSessions()

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz(response: Response) -> dict[str, str]:
        problem = await readiness_problem(lambda: current_revision(app.state.pool))
        if problem is not None:
            response.status_code = 503
            return {"status": "unavailable", "reason": problem}
        return {"status": "ready"}

    async def context(request: Request = None, websocket: WebSocket = None) -> Context:  # type: ignore[assignment]
        connection = request if request is not None else websocket
        header = connection.headers.get("authorization") if connection is not None else None
        return Context(
            pool=app.state.pool,
            settings=settings,
            live=app.state.live,
            header_token=bearer(header),
            websocket=websocket,
        )

    router: GraphQLRouter[Context, Any] = Router(settings, sessions, context_getter=context)
    app.include_router(router, prefix="/graphql")
    for public in (status.router, badges.router, metrics.router):
        app.include_router(public)
    mount_dashboard(app)
    app.mount(graphiql.STATIC_URL, graphiql.GraphiQLFiles(directory=graphiql.STATIC), name="static")
    # Outermost last: the Host rule first, then the body limit, for every route.
    app.add_middleware(BodyLimit, max_bytes=settings.api_max_body_bytes)
    app.add_middleware(HostGuard, settings=settings)
    return app


def serve(settings: Settings, database_url: str) -> None:
    """Serve the API until SIGINT or SIGTERM (uvicorn finishes open requests first)."""
    app = create_app(settings, database_url)
    # What is loaded and built by now (modules, the schema) lives as long as the process: keep
    # it out of the collector's full passes, which otherwise stop every request and subscriber
    # for a few hundred milliseconds each time (bench/live.py).
    gc.collect()
    gc.freeze()
    uvicorn.run(
        app,
        host=settings.api_host,
        port=settings.api_port,
        log_level=settings.log_level,
        access_log=False,
        lifespan="on",
        # A WebSocket message obeys the same limit as a request body.
        ws_max_size=settings.api_max_body_bytes,
    )
