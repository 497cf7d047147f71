"""The private attribute of graphql-core that the shared execution resets for each subscription
event (``Executor._relevant_sub_fields``, in uptime_graphql.live.shared_execution): these fail
when a graphql-core release renames it or changes what it holds, before the memory it kept per
event comes back unnoticed (tests/graphql/test_subscription_memory.py measures that memory over
a real database; these need none)."""

from __future__ import annotations

from typing import Any

from graphql import GraphQLObjectType, build_schema, parse
from graphql.execution import ExecutionResult, Executor

from uptime_graphql.live.shared_execution import ExecutionContext

SCHEMA = build_schema(
    """
    type Query { dummy: String }
    type Greeting { text: String }
    type Subscription { greeting: Greeting }
    """
)
DOCUMENT = parse("subscription { greeting { text } }")


def executor_of(cls: type[Executor[Any]]) -> Executor[Any]:
    built = cls.build(SCHEMA, DOCUMENT)
    assert isinstance(built, cls), built
    return built


def event(text: str) -> dict[str, Any]:
    return {"greeting": {"text": text}}


def test_the_attribute_is_the_memo_of_collected_subfields_shared_by_event_copies() -> None:
    executor = executor_of(Executor)
    assert executor._relevant_sub_fields == {}, "graphql-core renamed or retyped the memo"
    first = executor.build_per_event_executor(event("a"))
    # What ExecutionContext undoes: a plain per-event copy shares its subscription's memo. (If
    # this fails, graphql-core gives each event its own and the reset may no longer be needed;
    # test_subscription_memory.py tells.)
    assert first._relevant_sub_fields is executor._relevant_sub_fields
    assert first.execute_operation(False) == ExecutionResult(data=event("a"), errors=None)
    # Executing an object field's selection fills it, keyed by (type, id of the field list).
    [(return_type, list_id)] = list(first._relevant_sub_fields)
    greeting = SCHEMA.get_type("Greeting")
    assert isinstance(greeting, GraphQLObjectType)
    assert return_type is greeting
    assert isinstance(list_id, int)


def test_the_shared_execution_gives_each_event_a_memo_of_its_own() -> None:
    executor = executor_of(ExecutionContext)
    events = [executor.build_per_event_executor(event(text)) for text in ("a", "b")]
    assert events[0]._relevant_sub_fields is not events[1]._relevant_sub_fields
    for one, text in zip(events, ("a", "b"), strict=True):
        assert one._relevant_sub_fields is not executor._relevant_sub_fields
        assert one.execute_operation(False) == ExecutionResult(data=event(text), errors=None)
        # The reset attribute is the one graphql-core reads and fills while executing.
        assert len(one._relevant_sub_fields) == 1
    assert executor._relevant_sub_fields == {}, "an event's subfields stayed in the subscription"
