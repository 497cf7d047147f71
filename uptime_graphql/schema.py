"""The schema: root types, the token check and the limits every operation passes."""

from __future__ import annotations

import logging
import re
import traceback
from collections.abc import AsyncIterator

import strawberry
from graphql import ExecutionResult as GraphQLExecutionResult
from graphql import GraphQLError
from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    SchemaExtension,
    ValidationCache,
)
from strawberry.types import ExecutionContext as OperationContext
from strawberry.types.graphql import OperationType

from uptime_graphql.auth import authenticate, forbidden, refusal, root_fields
from uptime_graphql.context import Context
from uptime_graphql.errors import unauthenticated
from uptime_graphql.live.shared_execution import ExecutionContext
from uptime_graphql.mutations import Mutation
from uptime_graphql.queries import Query
from uptime_graphql.subscriptions import Subscription

MAX_DEPTH = 12
MAX_ALIASES = 50
MAX_TOKENS = 5000

log = logging.getLogger("uptime.api")
_NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]{0,63}")


class RequireToken(SchemaExtension):
    """Every operation needs an accepted caller (``auth.authenticate``: with UPTIME_API_TOKEN
    set or a token presented, a valid token); queries and subscriptions need ``read``,
    mutations ``write``, and those in ``auth.ADMIN_MUTATIONS`` ``admin``. A caller short of
    the scope gets one FORBIDDEN error naming the fields and the scope, and nothing runs.
    A mutation that ran is logged with the caller's name (never the token)."""

    async def on_operation(self) -> AsyncIterator[None]:
        # Fails closed: an operation run without our context (no way to know who asks) is
        # refused like one without the token.
        context = self.execution_context.context
        if not isinstance(context, Context) or await authenticate(context) is None:
            raise unauthenticated()
        yield

    async def on_execute(self) -> AsyncIterator[None]:
        execution = self.execution_context
        context = execution.context
        caller = context.caller if isinstance(context, Context) else None
        mutation = execution.operation_type is OperationType.MUTATION
        fields: list[str] = []
        if mutation and caller is not None and execution.graphql_document is not None:
            fields = root_fields(execution.graphql_document, execution.operation_name)
            reason = refusal(fields, caller.scope)
            if reason is not None:
                # Answered without running (Strawberry runs nothing when a result is set).
                execution.result = GraphQLExecutionResult(data=None, errors=[forbidden(reason)])
        yield
        result = execution.result
        ran = isinstance(result, GraphQLExecutionResult) and result.data is not None
        if mutation and caller is not None and ran:
            log.info(
                "GraphQL mutation %s (%s) by token %s",
                _operation_name(execution),
                ", ".join(dict.fromkeys(fields)) or "-",
                caller.name,
            )


# The limiters make a new rule class per instance; made once, the rules are the same on every
# request, so ValidationCache (keyed by document and rules) finds its earlier answers.
LIMIT_RULES = [
    *QueryDepthLimiter(max_depth=MAX_DEPTH).validation_rules,
    *MaxAliasesLimiter(max_alias_count=MAX_ALIASES).validation_rules,
]


def is_server_error(error: GraphQLError, operation: OperationContext | None) -> bool:
    """True for an exception of our own code while answering (a bug, or an outage); False for
    what the client got wrong: syntax, validation, variables, the token, refused input."""
    original = error.original_error
    if original is None or isinstance(original, GraphQLError):
        return False  # raised as an answer (unauthenticated, bad_input) or by validation
    if operation is None or operation.graphql_document is None:
        return False  # the document did not parse
    # A scalar refusing a variable's value (a DateTime that is not one) raises ValueError.
    return not (error.path is None and error.message.startswith("Variable '$"))


def client_error_kind(error: GraphQLError, operation: OperationContext | None) -> str:
    """A name for what the client got wrong, from a fixed set: never the error's message,
    which can quote the query or a variable's value (a secret, such as a Slack URL)."""
    code = (error.extensions or {}).get("code")
    if isinstance(code, str) and _NAME.fullmatch(code):
        return code.lower()
    if operation is None or operation.graphql_document is None:
        return "syntax"  # graphql-core's parser also refuses documents nested too deeply
    if error.message.startswith("Variable '$"):
        return "variables"
    if error.path is None:
        return "validation"
    return "refused"


def describe_exception(error: BaseException) -> str:
    """The exception's type, and its message only where that cannot hold a request's values:
    an OS-level error (a refused connection, a timeout) says what failed, where a DataError or
    a pydantic ValidationError would quote the input (a Slack URL, a header value)."""
    name = f"{type(error).__module__}.{type(error).__qualname__}"
    if isinstance(error, OSError | TimeoutError):
        return f"{name}: {error}"
    return name


class Schema(strawberry.Schema):
    """Strawberry's schema, logging errors without the request in them.

    Strawberry logs each error at ERROR as graphql-core prints it: the message, which quotes
    variable values, and the lines of the query around it (so a secret in a mutation next to a
    typo reached the log). Here a request's client errors are one INFO line naming their kinds;
    an exception of our own is an ERROR with its traceback (the frames and the exception's type;
    its message only where it cannot quote the input), the operation's name and the path, never
    the query text or variables."""

    def process_errors(
        self, errors: list[GraphQLError], execution_context: OperationContext | None = None
    ) -> None:
        operation = _operation_name(execution_context)
        kinds: dict[str, int] = {}
        for error in errors:
            if is_server_error(error, execution_context) and error.original_error is not None:
                original = error.original_error
                log.error(
                    "GraphQL operation %s failed at %s%s: %s\n"
                    "Traceback (most recent call last):\n%s",
                    operation,
                    ".".join(str(part) for part in error.path or ()) or "-",
                    _by(execution_context),
                    describe_exception(original),
                    "".join(traceback.format_tb(original.__traceback__)).rstrip(),
                )
            else:
                kind = client_error_kind(error, execution_context)
                kinds[kind] = kinds.get(kind, 0) + 1
        if kinds:
            log.info(
                "GraphQL operation %s refused: %s%s",
                operation,
                ", ".join(f"{count} {kind}" for kind, count in sorted(kinds.items())),
                _by(execution_context),
            )


def _by(execution_context: OperationContext | None) -> str:
    """`` by token NAME`` for an accepted caller (a named token's name, never the token)."""
    context = getattr(execution_context, "context", None)
    caller = context.caller if isinstance(context, Context) else None
    return "" if caller is None else f" by token {caller.name}"


def _operation_name(execution_context: OperationContext | None) -> str:
    # The name the client gave, if it is a GraphQL name (anything else could be any text).
    name = execution_context.operation_name if execution_context is not None else None
    return name if name is not None and _NAME.fullmatch(name) else "(anonymous)"


schema = Schema(
    query=Query,
    mutation=Mutation,
    subscription=Subscription,
    # Each subscription event executed once for all who asked the same (uptime_graphql.live).
    execution_context_class=ExecutionContext,
    extensions=[
        RequireToken,
        lambda: AddValidationRules(LIMIT_RULES),
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
        # Clients send the same few documents again and again, and validating one costs more
        # CPU than answering a one-target query. Bounded LRU caches, keyed by the text and
        # the limits (a flood of distinct queries only evicts). ParserCache's one parsed
        # document per query text is also what the shared execution keys on.
        ParserCache,
        ValidationCache,
    ],
)
