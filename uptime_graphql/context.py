"""What every resolver gets: the database pool, the request's DataLoaders, whether the caller
presented the token."""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from strawberry.fastapi import BaseContext

from uptime_core.settings import Settings
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


@dataclass
class Context(BaseContext):
    pool: asyncpg.Pool
    settings: Settings
    authorized: bool
    loaders: Loaders = field(init=False)
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__()
        self.loaders = Loaders(self.pool)
