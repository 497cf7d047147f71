"""Who is asking, and what they may do.

A caller has a scope (``TokenScope``: read < write < admin) or none (refused). Without
``UPTIME_API_TOKEN`` the server listens on loopback only and every caller is admin; with it,
that token is admin. ``caller_scope`` answers for a presented token; ``require_http_scope`` is
the FastAPI dependency of the plain HTTP routes that need a token (``/metrics``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import HTTPException, Request

from uptime_core.enums import TokenScope
from uptime_core.runtime.settings import Settings
from uptime_graphql.context import bearer, token_matches

# Each scope and the scopes it includes.
RANK = {TokenScope.READ: 0, TokenScope.WRITE: 1, TokenScope.ADMIN: 2}


def allows(scope: TokenScope | None, needed: TokenScope) -> bool:
    return scope is not None and RANK[scope] >= RANK[needed]


async def caller_scope(token: str | None, settings: Settings) -> TokenScope | None:
    """The scope of a caller presenting ``token`` (None: no token); None if refused."""
    if settings.api_token is None:
        return TokenScope.ADMIN
    if token is not None and token_matches(token, settings):
        return TokenScope.ADMIN
    return None


def require_http_scope(needed: TokenScope) -> Callable[[Request], Awaitable[TokenScope]]:
    """A dependency answering 401 without an accepted token, 403 for one whose scope is
    below ``needed``."""

    async def dependency(request: Request) -> TokenScope:
        settings: Settings = request.app.state.settings
        scope = await caller_scope(bearer(request.headers.get("authorization")), settings)
        if scope is None:
            raise HTTPException(401, "a token is required", headers={"WWW-Authenticate": "Bearer"})
        if not allows(scope, needed):
            raise HTTPException(403, f"this needs a {needed.value} token")
        return scope

    return dependency
