"""Monitors as code over GraphQL: ``applyConfiguration`` (what ``uptime apply`` sends) and the
types of its plan. The document's format is docs/configuration.md; the work is
``uptime_core.configuration``'s."""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Any

import strawberry
from strawberry.scalars import JSON

from uptime_core.configuration import apply as core
from uptime_core.configuration import parse_documents
from uptime_core.validation import FieldError, InvalidFields
from uptime_graphql.errors import ValidationError, validation_error


@strawberry.enum(description="What an apply does to one object.")
class ConfigurationAction(Enum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"


@strawberry.enum(description="The kinds of object a configuration document holds.")
class ConfigurationObjectKind(Enum):
    TARGET = "target"
    CHANNEL = "channel"
    MAINTENANCE_WINDOW = "maintenance_window"


@strawberry.type(description="One object an apply creates, updates or deletes.")
class ConfigurationChange:
    action: ConfigurationAction
    kind: ConfigurationObjectKind
    key: str
    fields: list[str] = strawberry.field(
        description="For an update: the fields that change, as the document names them "
        "(`intervalSeconds`, `http.headers`, `webhook.secret`); secret values are never shown."
    )
    where: str | None = strawberry.field(
        description="Its place in the document (`monitors.yaml: targets[3]`); null for a delete."
    )


@strawberry.type(
    description="What an apply changed, or would change (a dry run, or an apply with nothing "
    "to do: `applied` is false)."
)
class ConfigurationPlan:
    dry_run: bool
    prune: bool
    applied: bool
    changes: list[ConfigurationChange]
    unchanged: int = strawberry.field(description="Objects of the document already as stored.")
    created: int
    updated: int
    deleted: int

    @classmethod
    def from_plan(cls, plan: core.Plan) -> ConfigurationPlan:
        return cls(
            dry_run=plan.dry_run,
            prune=plan.prune,
            applied=plan.applied,
            changes=[
                ConfigurationChange(
                    action=ConfigurationAction(change.action.value),
                    kind=ConfigurationObjectKind(change.kind.value),
                    key=change.key,
                    fields=list(change.fields),
                    where=change.where,
                )
                for change in plan.changes
            ],
            unchanged=plan.unchanged,
            created=plan.count(core.Action.CREATE),
            updated=plan.count(core.Action.UPDATE),
            deleted=plan.count(core.Action.DELETE),
        )


@strawberry.input(description="One file of a document given as several (`uptime apply -f a -f b`).")
class ConfigurationFileInput:
    name: str | None = strawberry.field(
        default=None, description="The file's name, put before every path in a problem."
    )
    document: JSON = strawberry.field(description="The file's content, as JSON.")


@strawberry.input(description="A configuration document to apply (docs/configuration.md).")
class ApplyConfigurationInput:
    document: JSON | None = strawberry.field(
        default=None, description="The document, as JSON (or `files`, not both)."
    )
    files: list[ConfigurationFileInput] | None = strawberry.field(
        default=None, description="The document as several files, read as one."
    )
    environment: JSON | None = strawberry.field(
        default=None,
        description="The values of the `${NAME}` references, as an object of strings (the "
        "server's own environment is never read).",
    )
    dry_run: bool = strawberry.field(default=False, description="Plan only; write nothing.")
    prune: bool = strawberry.field(
        default=False, description="Also delete the objects the document does not name."
    )


ApplyConfigurationResult = Annotated[
    ConfigurationPlan | ValidationError, strawberry.union("ApplyConfigurationResult")
]


def _files(input: ApplyConfigurationInput) -> list[tuple[str | None, object]]:
    if (input.document is None) == (input.files is None):
        raise InvalidFields([FieldError("document", "give either document or files")])
    if input.files is None:
        return [(None, input.document)]
    if not input.files:
        raise InvalidFields([FieldError("files", "must not be empty")])
    return [(file.name, file.document) for file in input.files]


def _environment(given: Any) -> dict[str, str]:
    if given is None:
        return {}
    if not isinstance(given, dict) or not all(isinstance(v, str) for v in given.values()):
        raise InvalidFields([FieldError("environment", "must be an object of strings")])
    return given


async def apply_configuration(
    info: strawberry.Info, input: ApplyConfigurationInput
) -> ApplyConfigurationResult:
    try:
        document = parse_documents(_files(input), _environment(input.environment))
        async with info.context.pool.acquire() as connection:
            plan = await core.apply_document(
                connection, document, dry_run=input.dry_run, prune=input.prune
            )
    except InvalidFields as error:
        return validation_error(error)
    return ConfigurationPlan.from_plan(plan)
