"""Who is asking, and what they may do.

A caller has a scope (``TokenScope``: read < write < admin) or none (refused):

- ``UPTIME_API_TOKEN`` is an admin token.
- A named token (``uptime tokens create``, ``uptime_core.tokens``) has its own scope while it is
  live; it is looked up on every request (one indexed query, no cache), so a revoked one is
  refused from the next request on, in every API process.
- No token presented: admin when ``UPTIME_API_TOKEN`` is unset (the server then listens on
  loopback only, and its Host rule keeps other machines' pages out), refused otherwise.
- A token presented is always checked, set or not: a wrong one is refused, a read token reads.

``caller_scope`` answers for a presented token; ``authenticate`` for a GraphQL context (HTTP
header, and a WebSocket's ``connection_init``: every token presented must be accepted, and the
lowest scope among them counts); ``require_http_scope`` is the FastAPI dependency of the
plain HTTP routes that need a token (``/metrics``). Logs name a caller by ``Caller.name``:
a named token's name, never a token.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import asyncpg
from fastapi import HTTPException, Request
from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    SelectionSetNode,
    get_operation_ast,
)

from uptime_core.enums import TokenScope
from uptime_core.runtime.settings import Settings
from uptime_core.tokens import live_token
from uptime_graphql.context import Context, bearer, connection_init_token, token_matches

# Each scope and the scopes it includes.
RANK = {TokenScope.READ: 0, TokenScope.WRITE: 1, TokenScope.ADMIN: 2}

# How logs name a caller that is not a named token (names cannot hold parentheses).
ENV_TOKEN = "(UPTIME_API_TOKEN)"
NO_TOKEN = "(no token)"


@dataclass(frozen=True, slots=True)
class Caller:
    """An accepted caller: its scope, the name logs give it, and a named token's id."""

    scope: TokenScope
    name: str
    token_id: int | None = None


def allows(scope: TokenScope | None, needed: TokenScope) -> bool:
    return scope is not None and RANK[scope] >= RANK[needed]


async def identify(token: str | None, settings: Settings, pool: asyncpg.Pool) -> Caller | None:
    """The caller presenting ``token`` (None: no token presented); None if refused."""
    if token is None:
        return Caller(TokenScope.ADMIN, NO_TOKEN) if settings.api_token is None else None
    if not token.strip():
        return None
    if settings.api_token is not None and token_matches(token, settings):
        return Caller(TokenScope.ADMIN, ENV_TOKEN)
    found = await live_token(pool, token)
    return None if found is None else Caller(found.scope, found.name, found.id)


async def caller_scope(
    token: str | None, settings: Settings, pool: asyncpg.Pool
) -> TokenScope | None:
    """The scope of a caller presenting ``token`` (None: no token); None if refused."""
    caller = await identify(token, settings, pool)
    return None if caller is None else caller.scope


async def authenticate(context: Context) -> Caller | None:
    """The caller of a GraphQL operation (or WebSocket), asked once per context: every token
    it presented (the ``Authorization`` header of the request or of a WebSocket's upgrade, the
    ``connection_init`` token) must be accepted; the lowest scope among them counts."""
    if context.caller_known:
        return context.caller
    presented = [
        token
        for token in (context.header_token, connection_init_token(context.connection_params))
        if token is not None
    ]
    callers = [await identify(token, context.settings, context.pool) for token in presented]
    if not presented:
        callers = [await identify(None, context.settings, context.pool)]
    caller = None
    if all(callers):
        caller = min((c for c in callers if c is not None), key=lambda c: RANK[c.scope])
    # Kept for the context's life: an HTTP request's, or a WebSocket's (asked first at its
    # connection_init; a revocation closes the WebSocket).
    context.caller, context.caller_known = caller, True
    return caller


def require_http_scope(needed: TokenScope) -> Callable[[Request], Awaitable[TokenScope]]:
    """A dependency answering 401 without an accepted token, 403 for one whose scope is
    below ``needed``."""

    async def dependency(request: Request) -> TokenScope:
        settings: Settings = request.app.state.settings
        scope = await caller_scope(
            bearer(request.headers.get("authorization")), settings, request.app.state.pool
        )
        if scope is None:
            raise HTTPException(401, "a token is required", headers={"WWW-Authenticate": "Bearer"})
        if not allows(scope, needed):
            raise HTTPException(403, f"this {needs(needed)}; this token is {scope.value}")
        return scope

    return dependency


# -- what an operation needs ---------------------------------------------------------------------

# Mutations that need more than `write` (every other mutation needs `write`; queries and
# subscriptions need `read`, which every accepted caller has).
ADMIN_MUTATIONS = frozenset(
    {
        "createApiToken",
        "revokeApiToken",
        "createStatusPage",
        "updateStatusPage",
        "deleteStatusPage",
    }
)


def root_fields(document: DocumentNode, operation_name: str | None) -> list[str]:
    """The names of the root fields ``operation_name`` (or the document's one operation)
    selects, through fragments, whatever their directives (@skip counts as asked)."""
    operation = get_operation_ast(document, operation_name)
    if operation is None:
        return []
    fragments = {
        definition.name.value: definition
        for definition in document.definitions
        if isinstance(definition, FragmentDefinitionNode)
    }
    names: list[str] = []
    seen: set[str] = set()
    stack: list[SelectionSetNode] = [operation.selection_set]
    while stack:
        for selection in stack.pop().selections:
            if isinstance(selection, FieldNode):
                names.append(selection.name.value)
            elif isinstance(selection, InlineFragmentNode):
                stack.append(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name not in seen and name in fragments:
                    seen.add(name)
                    stack.append(fragments[name].selection_set)
    return names


def mutation_needs(field: str) -> TokenScope:
    if field.startswith("__"):
        return TokenScope.READ  # __typename
    return TokenScope.ADMIN if field in ADMIN_MUTATIONS else TokenScope.WRITE


def refusal(fields: list[str], scope: TokenScope) -> str | None:
    """Why a caller of ``scope`` may not run a mutation selecting ``fields``; None if it may."""
    short = [field for field in dict.fromkeys(fields) if not allows(scope, mutation_needs(field))]
    if not short:
        return None
    needed = max((mutation_needs(field) for field in short), key=RANK.__getitem__)
    return f"{', '.join(short)} {needs(needed)}; this token is {scope.value}"


def needs(scope: TokenScope) -> str:
    return f"needs {'an' if scope is TokenScope.ADMIN else 'a'} {scope.value} token"


def forbidden(message: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": "FORBIDDEN"})
