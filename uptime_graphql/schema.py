"""The GraphQL schema: the root types put together."""

from __future__ import annotations

import strawberry

from uptime_core import __version__


@strawberry.type(description="The root of every query.")
class Query:
    @strawberry.field(description="The server's version.")
    def version(self) -> str:
        return __version__


schema = strawberry.Schema(query=Query)
