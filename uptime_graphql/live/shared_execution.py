"""Shared execution: each subscription event's selection executed once for all the subscribers
that asked for the same thing, and its ``next`` message's JSON text encoded once.

Both caches key on object identity (the package docstring says why that holds) and hold the
objects they key on, so that an id is never reused while it is in a cache. Both are bounded
LRUs: an entry that has gone is computed again (the same answer, at the cost of the work), so
their sizes bound memory, never correctness.
"""

from __future__ import annotations

import asyncio
import json
from collections import OrderedDict
from collections.abc import Awaitable
from typing import Any

from graphql.execution import ExecutionResult, Executor
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

# How many recent (event, operation, variables) results are kept.
SHARED_RESULTS = 2048
# How many recent results keep their JSON text.
SHARED_TEXTS = 512

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
    collected subfields (the private ``Executor._relevant_sub_fields``), and keys that memo by
    lists made afresh for each event: every event of every open subscription stayed in memory,
    and the full garbage collections (over all of it) stopped the process for hundreds of
    milliseconds (bench/live.py). ``tests/graphql/test_graphql_core_private.py`` fails if
    graphql-core renames that attribute or changes what it holds.

    Shared execution: when many subscriptions (the dashboards of many browsers) are handed the
    same event object, with the same operation (the same parsed document) and the same
    variable values, the first executes the selection and the others are given its result.
    Assumption, and why it is safe: the selections of our subscription types depend on the
    event, the document and the variables, not on the request's context; the one thing in the
    context that differs between clients is auth, which is all-or-nothing (one token) and
    checked when the connection opens, so every subscriber that gets this far may see every
    answer. (The context's loaders only read the same database.) A field that answered per
    client would have to opt out here."""

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


class SharedTexts:
    """The JSON text of recent subscription results, by the identity of their data (held, so
    that the id is not reused while here). One per router."""

    def __init__(self) -> None:
        self._texts: OrderedDict[int, tuple[object, str]] = OrderedDict()

    def next_message(self, data: object) -> str | None:
        """The text of a graphql-transport-ws ``next`` message whose payload is only data,
        with the data's text encoded once for every subscriber handed the same result (only the
        message id differs); None for any other message (the caller encodes it)."""
        if not (
            isinstance(data, dict)
            and data.get("type") == "next"
            and len(data) == 3
            and isinstance(payload := data.get("payload"), dict)
            and len(payload) == 1
            and isinstance(result := payload.get("data"), dict)
        ):
            return None
        known = self._texts.get(id(result))
        if known is None or known[0] is not result:
            known = (result, json.dumps(result, separators=(",", ":")))
            self._texts[id(result)] = known
            if len(self._texts) > SHARED_TEXTS:
                self._texts.popitem(last=False)
        message_id = json.dumps(data["id"])
        return f'{{"id":{message_id},"type":"next","payload":{{"data":{known[1]}}}}}'
