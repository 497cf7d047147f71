"""The schema: root types, the token check and the limits every operation passes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import strawberry
from graphql.execution import Executor
from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    SchemaExtension,
    ValidationCache,
)
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from uptime_graphql.errors import unauthenticated
from uptime_graphql.mutations import Mutation
from uptime_graphql.queries import Query
from uptime_graphql.subscriptions import Subscription

MAX_DEPTH = 12
MAX_ALIASES = 50
MAX_TOKENS = 5000


class RequireToken(SchemaExtension):
    """With UPTIME_API_TOKEN set, every operation needs it (the context knows if it came)."""

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context.context
        if context is not None and not getattr(context, "authorized", True):
            raise unauthenticated()
        yield


class ExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's, with a memo of its own for each subscription event.

    graphql-core 3.3 copies the subscription's executor for each event, sharing its memo of
    collected subfields, and keys that memo by lists made afresh for each event: every event of
    every open subscription stayed in memory, and the full garbage collections (over all of
    it) stopped the process for hundreds of milliseconds (bench/live.py)."""

    def build_per_event_executor(self, payload: Any) -> Executor[Any]:
        executor = super().build_per_event_executor(payload)
        executor._relevant_sub_fields = {}
        return executor


# The limiters make a new rule class per instance; made once, the rules are the same on every
# request, so ValidationCache (keyed by document and rules) finds its earlier answers.
LIMIT_RULES = [
    *QueryDepthLimiter(max_depth=MAX_DEPTH).validation_rules,
    *MaxAliasesLimiter(max_alias_count=MAX_ALIASES).validation_rules,
]

schema = strawberry.Schema(
    query=Query,
    mutation=Mutation,
    subscription=Subscription,
    execution_context_class=ExecutionContext,
    extensions=[
        RequireToken,
        lambda: AddValidationRules(LIMIT_RULES),
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
        # Clients send the same few documents again and again, and validating one costs more
        # CPU than answering a one-target query. Bounded LRU caches, keyed by the text and
        # the limits (a flood of distinct queries only evicts).
        ParserCache,
        ValidationCache,
    ],
)
