"""What every resolver gets: the database pool, the request's DataLoaders, whether the caller
presented the token."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from strawberry.fastapi import BaseContext

from uptime_core.runtime.settings import Settings
from uptime_graphql.live.listener import LiveEvents
from uptime_graphql.loaders import Loaders


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
    loaders: Loaders = field(init=False)
    # Latency series asked so far by this request (each is a query of its own).
    latency_series_asked: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        super().__init__()
        self.loaders = Loaders(self.pool)

    @property
    def authorized(self) -> bool:
        """No token is configured; or the caller presented one, and every token it presented
        is right: the ``Authorization`` header (of the HTTP request, or of a WebSocket's
        upgrade) and the subscription's ``connection_init`` one."""
        if self.settings.api_token is None:
            return True
        presented = [
            token
            for token in (self.header_token, connection_init_token(self.connection_params))
            if token is not None
        ]
        return bool(presented) and all(token_matches(token, self.settings) for token in presented)
