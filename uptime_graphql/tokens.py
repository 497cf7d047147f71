"""Named API tokens: ``apiTokens``, ``createApiToken`` and ``revokeApiToken`` (admin: see
``uptime_graphql.auth.ADMIN_MUTATIONS``; the scope check is the schema's, not these resolvers').
The token is in ``createApiToken``'s answer once; only its SHA-256 is stored
(``uptime_core.tokens``)."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Annotated

import strawberry

from uptime_core import tokens
from uptime_core.enums import TokenScope
from uptime_core.validation import InvalidFields
from uptime_graphql.auth import Caller
from uptime_graphql.errors import NotFoundError, ValidationError, not_found, validation_error
from uptime_graphql.types.node import global_id, parse_global_id

log = logging.getLogger("uptime.api")

strawberry.enum(
    TokenScope,
    description="What a token may do: READ reads everything (queries, subscriptions, "
    "/metrics); WRITE also manages targets, channels and maintenance windows; ADMIN also "
    "manages tokens and status pages.",
)


@strawberry.type(description="A named API token; never the token itself, which is shown once.")
class ApiToken:
    id: strawberry.ID
    name: str
    scope: TokenScope
    created_at: datetime
    revoked_at: datetime | None = strawberry.field(
        description="When it was revoked (it stopped working then); null while live."
    )

    @classmethod
    def from_row(cls, row: tokens.TokenRow) -> ApiToken:
        return cls(
            id=global_id("ApiToken", row.id),
            name=row.name,
            scope=row.scope,
            created_at=row.created_at,
            revoked_at=row.revoked_at,
        )


@strawberry.type(description="A new token: `token` is shown here once and never again.")
class CreatedApiToken:
    token: str = strawberry.field(
        description="The bearer token. Only its SHA-256 is stored: keep it now."
    )
    api_token: ApiToken


@strawberry.input
class CreateApiTokenInput:
    name: str = strawberry.field(
        description="Unique among live tokens: 1 to 64 letters, digits, '.', '_' or '-'. "
        "Logs name the token by it."
    )
    scope: TokenScope


CreateApiTokenResult = Annotated[
    CreatedApiToken | ValidationError, strawberry.union("CreateApiTokenResult")
]
RevokeApiTokenResult = Annotated[ApiToken | NotFoundError, strawberry.union("RevokeApiTokenResult")]


@strawberry.type
class QueryPart:
    @strawberry.field(
        description="The scope of the caller: of the token sent (UPTIME_API_TOKEN is ADMIN), "
        "or ADMIN for a caller without a token on a server without UPTIME_API_TOKEN. The UI "
        "reads it to say what a READ token cannot do."
    )
    def token_scope(self, info: strawberry.Info) -> TokenScope:
        caller: Caller | None = info.context.caller
        assert caller is not None  # the schema refuses an operation without an accepted caller
        return caller.scope

    @strawberry.field(description="Every named token, live and revoked, oldest first.")
    async def api_tokens(self, info: strawberry.Info) -> list[ApiToken]:
        return [ApiToken.from_row(row) for row in await tokens.list_tokens(info.context.pool)]


@strawberry.type
class MutationPart:
    @strawberry.mutation(
        description="Make a named token (needs an admin token). The answer holds the token "
        "once; only its SHA-256 is stored."
    )
    async def create_api_token(
        self, info: strawberry.Info, input: CreateApiTokenInput
    ) -> CreateApiTokenResult:
        try:
            token, row = await tokens.create_token(info.context.pool, input.name, input.scope)
        except InvalidFields as error:
            return validation_error(error)
        log.info("created API token %s (%s)", row.name, row.scope.value)
        return CreatedApiToken(token=token, api_token=ApiToken.from_row(row))

    @strawberry.mutation(
        description="Revoke a token (needs an admin token): it stops working at once, and "
        "its open subscriptions are closed (4403). Revoking it again changes nothing."
    )
    async def revoke_api_token(
        self, info: strawberry.Info, id: strawberry.ID
    ) -> RevokeApiTokenResult:
        parsed = parse_global_id(id, "ApiToken")
        row = None if parsed is None else await tokens.revoke_token(info.context.pool, parsed[1])
        if row is None:
            return not_found(id)
        log.info("revoked API token %s", row.name)
        return ApiToken.from_row(row)
