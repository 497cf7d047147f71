"""What every resolver gets: the database pool, the request's DataLoaders, the tokens the
caller presented and, once ``uptime_graphql.auth.authenticate`` asked, who the caller is."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import asyncpg
from strawberry.fastapi import BaseContext

from uptime_core.runtime.settings import Settings
from uptime_graphql.live.listener import LiveEvents
from uptime_graphql.loaders import Loaders

if TYPE_CHECKING:
    from starlette.websockets import WebSocket

    from uptime_graphql.auth import Caller


def token_matches(presented: str | None, settings: Settings) -> bool:
    """True when no token is configured, or ``presented`` is it. Never for an empty or blank
    token on either side (Settings refuses those; this holds even for Settings built without
    validation). Constant-time: both are hashed to the same length before comparing, so not
    even the token's length shows in the timing."""
    if settings.api_token is None:
        return True
    expected = settings.api_token.get_secret_value()
    if not presented or not presented.strip() or not expected.strip():
        return False
    return hmac.compare_digest(
        hashlib.sha256(presented.encode()).digest(), hashlib.sha256(expected.encode()).digest()
    )


def bearer(value: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` value."""
    if value is None:
        return None
    scheme, _, token = value.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


def connection_init_token(params: Any) -> str | None:
    """The token a subscription client sent in ``connection_init``: ``{"token": ...}`` or
    ``{"Authorization": "Bearer ..."}``."""
    if not isinstance(params, dict):
        return None
    token = params.get("token")
    if isinstance(token, str):
        return token
    header = params.get("Authorization") or params.get("authorization")
    return bearer(header) if isinstance(header, str) else None


@dataclass
class Context(BaseContext):
    pool: asyncpg.Pool
    settings: Settings
    live: LiveEvents
    header_token: str | None
    # The WebSocket this context serves (None over HTTP): closed when its token is revoked,
    # after its operations are stopped (app.TransportWSHandler sets stop_operations).
    websocket: WebSocket | None = None
    stop_operations: Callable[[], Awaitable[None]] | None = None
    loaders: Loaders = field(init=False)
    # Who the caller is (auth.authenticate): None when refused; asked once per context.
    caller: Caller | None = field(init=False, default=None)
    caller_known: bool = field(init=False, default=False)
    # Latency series asked so far by this request (each is a query of its own).
    latency_series_asked: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        super().__init__()
        self.loaders = Loaders(self.pool)
