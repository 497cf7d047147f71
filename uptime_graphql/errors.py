"""Errors as values: the typed results mutations return, and the GraphQL errors for refusals."""

from __future__ import annotations

import strawberry
from graphql import GraphQLError

from uptime_core.validation import InvalidFields


@strawberry.type(description="The input was refused; nothing was written.")
class ValidationError:
    message: str
    field: str | None = strawberry.field(
        description="The input field at fault, as spelled in the input (e.g. `port`)."
    )
    problems: list[FieldProblem] = strawberry.field(
        description="Every problem found, when there were several."
    )


@strawberry.type(description="One problem with one input field.")
class FieldProblem:
    field: str
    message: str


@strawberry.type(description="No object has this id.")
class NotFoundError:
    message: str
    id: strawberry.ID


def validation_error(error: InvalidFields) -> ValidationError:
    """The first problem as message and field, and all of them in ``problems``."""
    first = error.errors[0]
    return ValidationError(
        message=f"{first.field}: {first.message}",
        field=first.field,
        problems=[FieldProblem(field=e.field, message=e.message) for e in error.errors],
    )


def not_found(global_id: str) -> NotFoundError:
    return NotFoundError(message=f"no object has the id {global_id}", id=strawberry.ID(global_id))


def unauthenticated() -> GraphQLError:
    return GraphQLError(
        "a valid token is required: send `Authorization: Bearer <token>`",
        extensions={"code": "UNAUTHENTICATED"},
    )


def bad_input(message: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": "BAD_USER_INPUT"})
