"""Named API tokens with scopes (read < write < admin): made, listed, revoked, looked up.

A token is ``upt_`` and 43 characters of ``secrets.token_urlsafe(32)`` (256 random bits). It is
returned once, by ``create_token``; only its SHA-256 is stored, so the database cannot give it
back and a lookup is one index probe on the hash (a fast hash is right here: the token has 256
bits of entropy, there is nothing to guess). ``live_token`` (and ``scope_of``) look a token up
on every request, with no cache, so a revoked token stops working at once in every API process;
``revoke_token`` also notifies ``TOKENS_CHANNEL`` so that API processes close the token's open
WebSockets.
The statements are named in ``uptime_core/sql/tokens.sql``.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from uptime_core.enums import TokenScope
from uptime_core.sql import queries
from uptime_core.validation import FieldError, InvalidFields

PREFIX = "upt_"
TOKENS_CHANNEL = "uptime_tokens"
# Names show in logs and on the command line: no spaces, quotes or control characters.
NAME_FORMAT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


@dataclass(frozen=True, slots=True)
class TokenRow:
    """A token as it is shown: never the token, never its hash."""

    id: int
    name: str
    scope: TokenScope
    created_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class LiveToken:
    """Who presented a live token: its id (to close its WebSockets), name (for logs), scope."""

    id: int
    name: str
    scope: TokenScope


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def new_token() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def _row(record: asyncpg.Record) -> TokenRow:
    return TokenRow(
        id=record["id"],
        name=record["name"],
        scope=TokenScope(record["scope"]),
        created_at=record["created_at"],
        revoked_at=record["revoked_at"],
    )


def check_name(name: str) -> None:
    if not NAME_FORMAT.fullmatch(name):
        raise InvalidFields(
            [
                FieldError(
                    "name",
                    "must be 1 to 64 letters, digits, '.', '_' or '-', starting with a letter "
                    "or digit",
                )
            ]
        )


async def create_token(pool: asyncpg.Pool, name: str, scope: TokenScope) -> tuple[str, TokenRow]:
    """A new token and its row; the token is never stored, so this is the one time it is
    known. ``InvalidFields`` on ``name`` for a bad name or one a live token already has."""
    check_name(name)
    token = new_token()
    try:
        record = await pool.fetchrow(queries["insert_token"], name, scope.value, token_hash(token))
    except asyncpg.UniqueViolationError as error:
        if getattr(error, "constraint_name", None) != "uq_api_token_name_live":
            raise
        raise InvalidFields(
            [FieldError("name", f"a live token is already named {name!r}; revoke it first")]
        ) from None
    assert record is not None
    return token, _row(record)


async def list_tokens(pool: asyncpg.Pool) -> list[TokenRow]:
    """Every token, live and revoked, oldest first."""
    return [_row(record) for record in await pool.fetch(queries["list_tokens"])]


async def revoke_token(pool: asyncpg.Pool, token_id: int) -> TokenRow | None:
    """Revoke a token (again: no change); None when no token has this id. Every API process
    is told at once (NOTIFY on ``TOKENS_CHANNEL``)."""
    record = await pool.fetchrow(queries["revoke_token"], token_id)
    return None if record is None else _row(record)


async def live_token(pool: asyncpg.Pool, token: str) -> LiveToken | None:
    """The live token ``token`` is, or None (unknown, revoked, or not one of ours). One
    indexed query, no cache: a revocation counts from the next request on."""
    if not token.startswith(PREFIX):
        return None
    record = await pool.fetchrow(queries["live_token_by_hash"], token_hash(token))
    if record is None:
        return None
    return LiveToken(id=record["id"], name=record["name"], scope=TokenScope(record["scope"]))


async def scope_of(pool: asyncpg.Pool, token: str) -> TokenScope | None:
    """The scope of the live token ``token``, or None."""
    found = await live_token(pool, token)
    return None if found is None else found.scope


async def revoked_among(pool: asyncpg.Pool, token_ids: list[int]) -> set[int]:
    """Which of these tokens are revoked or gone."""
    if not token_ids:
        return set()
    return {record["id"] for record in await pool.fetch(queries["revoked_among"], token_ids)}
