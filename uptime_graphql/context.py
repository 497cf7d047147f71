"""What every resolver gets: the database pool, the request's DataLoaders, whether the caller
presented the token."""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from strawberry.fastapi import BaseContext

from uptime_core.settings import Settings
from uptime_graphql.live import LiveEvents
from uptime_graphql.loaders import Loaders


def token_matches(presented: str | None, settings: Settings) -> bool:
    """True when no token is configured, or ``presented`` is it (constant-time compare)."""
    if settings.api_token is None:
        return True
    expected = settings.api_token.get_secret_value()
    return presented is not None and hmac.compare_digest(presented.encode(), expected.encode())


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
        """The request's bearer token, or the subscription's connection_init one, is right."""
        token = self.header_token or connection_init_token(self.connection_params)
        return token_matches(token, self.settings)
