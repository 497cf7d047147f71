"""The schema: root types, the token check and the limits every operation passes."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import traceback
from collections import OrderedDict
from collections.abc import Awaitable, Iterator
from typing import Any

import strawberry
from graphql import GraphQLError
from graphql.execution import ExecutionResult, Executor
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
from strawberry.types import ExecutionContext as OperationContext

from uptime_graphql.context import Context
from uptime_graphql.errors import unauthenticated
from uptime_graphql.mutations import Mutation
from uptime_graphql.queries import Query
from uptime_graphql.subscriptions import Subscription

MAX_DEPTH = 12
MAX_ALIASES = 50
MAX_TOKENS = 5000

log = logging.getLogger("uptime.api")
_NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]{0,63}")


class RequireToken(SchemaExtension):
    """With UPTIME_API_TOKEN set, every operation needs it (the context knows if it came)."""

    def on_operation(self) -> Iterator[None]:
        # Fails closed: an operation run without our context (no way to know who asks) is
        # refused like one without the token.
        context = self.execution_context.context
        if not isinstance(context, Context) or not context.authorized:
            raise unauthenticated()
        yield


# Shared execution of subscription events: how many recent (event, operation, variables)
# results are kept. An event older than that is executed again for a late subscriber (the same
# answer, at the cost of the work), so this bounds memory, never correctness.
SHARED_RESULTS = 2048

_Result = ExecutionResult | asyncio.Future[ExecutionResult]
# key -> (the event, the operation: held so that their ids are not reused while here; result)
_shared: OrderedDict[tuple[int, int, str], tuple[Any, Any, _Result]] = OrderedDict()


def _variables_key(executor: Executor[Any]) -> str | None:
    try:
        return json.dumps(executor.variable_values.coerced, sort_keys=True, default=repr)
    except (TypeError, ValueError):
        return None  # not comparable as text: this subscription executes its own events


async def _shielded(future: asyncio.Future[ExecutionResult]) -> ExecutionResult:
    # One subscriber going away must not cancel the execution the others wait for.
    return await asyncio.shield(future)


class ExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's, with a memo of its own for each subscription event, and each event's
    selection executed once for all the subscriptions that asked for the same thing.

    graphql-core 3.3 copies the subscription's executor for each event, sharing its memo of
    collected subfields, and keys that memo by lists made afresh for each event: every event of
    every open subscription stayed in memory, and the full garbage collections (over all of
    it) stopped the process for hundreds of milliseconds (bench/live.py).

    Shared execution: when many subscriptions (the dashboards of many browsers) are handed the
    same event object (live.py fans one object out to all; subscriptions.py makes one Check per
    row and one batch per group), with the same operation (the same parsed document: ParserCache
    hands out one per query text) and the same variable values, the first executes the
    selection and the others are given its result. Assumption, and why it is safe: the
    selections of our subscription types depend on the event, the document and the variables,
    not on the request's context; the one thing in the context that differs between clients is
    auth, which is all-or-nothing (one token) and checked when the connection opens, so every
    subscriber that gets this far may see every answer. (The context's loaders only read the
    same database.) A field that answered per client would have to opt out here."""

    _event = False
    shared = 0  # how many event executions were answered from another's (tests, benches)

    def build_per_event_executor(self, payload: Any) -> Executor[Any]:
        executor = super().build_per_event_executor(payload)
        # A private attribute of graphql-core 3.3: fail loudly if a release renames it, rather
        # than let the per-event memo (and the memory it holds) come back unnoticed.
        if not hasattr(executor, "_relevant_sub_fields"):
            raise RuntimeError("graphql-core changed: Executor._relevant_sub_fields is gone")
        executor._relevant_sub_fields = {}
        executor._event = True  # type: ignore[attr-defined]
        return executor

    def execute_operation(self, serially: bool | None = None) -> Any:
        if not self._event:
            return super().execute_operation(serially)
        variables = _variables_key(self)
        if variables is None:
            return super().execute_operation(serially)
        key = (id(self.root_value), id(self.operation), variables)
        known = _shared.get(key)
        if known is not None and known[0] is self.root_value and known[1] is self.operation:
            _shared.move_to_end(key)
            ExecutionContext.shared += 1
            result = known[2]
            return _shielded(result) if isinstance(result, asyncio.Future) else result
        answer: Any = super().execute_operation(serially)
        if self.is_awaitable(answer):
            future = asyncio.ensure_future(_awaited(answer))
            _remember(key, self.root_value, self.operation, future)
            return _shielded(future)
        _remember(key, self.root_value, self.operation, answer)
        return answer


async def _awaited(result: Awaitable[ExecutionResult]) -> ExecutionResult:
    return await result


def _remember(key: tuple[int, int, str], event: Any, operation: Any, result: _Result) -> None:
    _shared[key] = (event, operation, result)
    if len(_shared) > SHARED_RESULTS:
        _shared.popitem(last=False)


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
                    "GraphQL operation %s failed at %s: %s\nTraceback (most recent call last):\n%s",
                    operation,
                    ".".join(str(part) for part in error.path or ()) or "-",
                    describe_exception(original),
                    "".join(traceback.format_tb(original.__traceback__)).rstrip(),
                )
            else:
                kind = client_error_kind(error, execution_context)
                kinds[kind] = kinds.get(kind, 0) + 1
        if kinds:
            log.info(
                "GraphQL operation %s refused: %s",
                operation,
                ", ".join(f"{count} {kind}" for kind, count in sorted(kinds.items())),
            )


def _operation_name(execution_context: OperationContext | None) -> str:
    # The name the client gave, if it is a GraphQL name (anything else could be any text).
    name = execution_context.operation_name if execution_context is not None else None
    return name if name is not None and _NAME.fullmatch(name) else "(anonymous)"


schema = Schema(
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
