"""Mutations: each takes one input (or an id) and returns a union of the result and typed
errors. Nothing is written when the answer is an error."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import asyncpg
import strawberry
from strawberry.utils.str_converters import to_camel_case

from uptime_core import maintenance, targets
from uptime_core.alerting import channels, outbox
from uptime_core.validation import FieldError, InvalidFields
from uptime_graphql import status_pages, tokens
from uptime_graphql.configuration import (
    ApplyConfigurationInput,
    ApplyConfigurationResult,
    apply_configuration,
)
from uptime_graphql.errors import NotFoundError, ValidationError, not_found, validation_error
from uptime_graphql.inputs.channel import (
    CreateChannelInput,
    UpdateChannelInput,
    changed_channel_fields,
    channel_fields,
)
from uptime_graphql.inputs.maintenance import (
    CreateMaintenanceWindowInput,
    UpdateMaintenanceWindowInput,
    maintenance_fields,
)
from uptime_graphql.inputs.target import (
    CreateTargetInput,
    UpdateTargetInput,
    option_changes,
    rename_option_fields,
)
from uptime_graphql.types.channel import Delivery, NotificationChannel
from uptime_graphql.types.maintenance import MaintenanceWindow
from uptime_graphql.types.node import parse_global_id
from uptime_graphql.types.target import Target

TargetResult = Annotated[Target | ValidationError | NotFoundError, strawberry.union("TargetResult")]


ChannelResult = Annotated[
    NotificationChannel | ValidationError | NotFoundError, strawberry.union("ChannelResult")
]
TestChannelResult = Annotated[Delivery | NotFoundError, strawberry.union("TestChannelResult")]
MaintenanceWindowResult = Annotated[
    MaintenanceWindow | ValidationError | NotFoundError,
    strawberry.union("MaintenanceWindowResult"),
]


@strawberry.type(
    description="The object is gone (a target with its history, a channel with its deliveries)."
)
class Deleted:
    id: strawberry.ID


DeleteResult = Annotated[Deleted | NotFoundError, strawberry.union("DeleteResult")]

_PLAIN_FIELDS = (
    "name",
    "key",
    "url",
    "host",
    "port",
    "interval_seconds",
    "timeout_seconds",
    "failure_threshold",
    "recovery_threshold",
    "retry_interval_seconds",
    "public",
)
_REQUIRED = {
    "name",
    "public",
    "key",
    "interval_seconds",
    "timeout_seconds",
    "failure_threshold",
    "recovery_threshold",
}


def _key(value: str, type_name: str) -> int | None:
    """The key of a global id of ``type_name``; None for any other id (answered not found)."""
    parsed = parse_global_id(value, type_name)
    return None if parsed is None else parsed[1]


async def _change_state(
    info: strawberry.Info,
    id: strawberry.ID,
    change: Callable[[asyncpg.Pool, int], Awaitable[targets.TargetRow | None]],
) -> Target | NotFoundError:
    target_id = _key(id, "Target")
    row = None if target_id is None else await change(info.context.pool, target_id)
    return not_found(id) if row is None else Target.from_row(row)


def _chosen_options(given: CreateTargetInput | UpdateTargetInput, kind: str) -> Any:
    return {"http": given.http, "tcp": given.tcp, "icmp": given.icmp}[kind]


@strawberry.type
class Mutation(tokens.MutationPart, status_pages.MutationPart):
    @strawberry.mutation(description="Create a target; it is first checked within its interval.")
    async def create_target(self, info: strawberry.Info, input: CreateTargetInput) -> TargetResult:
        kind = input.kind.value
        fields = targets.TargetFields(
            name=input.name,
            kind=kind,
            url=input.url,
            host=input.host,
            port=input.port,
            interval_seconds=input.interval_seconds,
            timeout_seconds=input.timeout_seconds,
            failure_threshold=input.failure_threshold,
            recovery_threshold=input.recovery_threshold,
            retry_interval_seconds=input.retry_interval_seconds,
            public=input.public,
            options=targets.merge_options({}, option_changes(_chosen_options(input, kind))),
            key=input.key,
        )
        try:
            row = await targets.create_target(info.context.pool, fields)
        except InvalidFields as error:
            return validation_error(rename_option_fields(error, kind))
        return Target.from_row(row)

    @strawberry.mutation(description="Change a target; absent fields are unchanged.")
    async def update_target(self, info: strawberry.Info, input: UpdateTargetInput) -> TargetResult:
        target_id = _key(input.id, "Target")
        if target_id is None:
            return not_found(input.id)
        changes: dict[str, Any] = {}
        for name in _PLAIN_FIELDS:
            value = getattr(input, name)
            if value is strawberry.UNSET:
                continue
            if value is None and name in _REQUIRED:
                null = FieldError(to_camel_case(name), "must not be null")
                return validation_error(InvalidFields([null]))
            changes[name] = value
        if input.kind is not strawberry.UNSET and input.kind is not None:
            changes["kind"] = input.kind.value
        async with info.context.pool.acquire() as connection:
            current = (await targets.targets_by_id(connection, [target_id])).get(target_id)
            if current is None:
                return not_found(input.id)
            # Options are merged into the stored ones under the row's lock, by the core.
            kind = changes.get("kind", current.kind)
            given = option_changes(_chosen_options(input, kind))
            try:
                row = await targets.update_target(connection, target_id, changes, given)
            except InvalidFields as error:
                return validation_error(rename_option_fields(error, kind))
        return not_found(input.id) if row is None else Target.from_row(row)

    @strawberry.mutation(description="Delete a target with its checks and incidents.")
    async def delete_target(self, info: strawberry.Info, id: strawberry.ID) -> DeleteResult:
        target_id = _key(id, "Target")
        if target_id is None or not await targets.delete_target(info.context.pool, target_id):
            return not_found(id)
        return Deleted(id=id)

    @strawberry.mutation(description="Stop checking a target (its history stays).")
    async def pause_target(self, info: strawberry.Info, id: strawberry.ID) -> TargetResult:
        return await _change_state(info, id, targets.pause_target)

    @strawberry.mutation(description="Check a paused target again, starting now.")
    async def resume_target(self, info: strawberry.Info, id: strawberry.ID) -> TargetResult:
        return await _change_state(info, id, targets.resume_target)

    @strawberry.mutation(description="Make a target due at once (unless paused or running).")
    async def check_target_now(self, info: strawberry.Info, id: strawberry.ID) -> TargetResult:
        return await _change_state(info, id, targets.check_target_now)

    # -- alerting --------------------------------------------------------------------------

    @strawberry.mutation(description="Create a notification channel (secrets are write-only).")
    async def create_channel(
        self, info: strawberry.Info, input: CreateChannelInput
    ) -> ChannelResult:
        try:
            row = await channels.create_channel(info.context.pool, channel_fields(input))
        except InvalidFields as error:
            return validation_error(error)
        return NotificationChannel.from_row(row)

    @strawberry.mutation(description="Change a channel; absent fields (and secrets) are kept.")
    async def update_channel(
        self, info: strawberry.Info, input: UpdateChannelInput
    ) -> ChannelResult:
        channel_id = _key(input.id, "NotificationChannel")
        if channel_id is None:
            return not_found(input.id)
        try:
            row = await channels.update_channel(
                info.context.pool,
                channel_id,
                lambda current: changed_channel_fields(current, input),
            )
        except InvalidFields as error:
            return validation_error(error)
        return not_found(input.id) if row is None else NotificationChannel.from_row(row)

    @strawberry.mutation(description="Delete a channel with its deliveries.")
    async def delete_channel(self, info: strawberry.Info, id: strawberry.ID) -> DeleteResult:
        channel_id = _key(id, "NotificationChannel")
        if channel_id is None or not await channels.delete_channel(info.context.pool, channel_id):
            return not_found(id)
        return Deleted(id=id)

    @strawberry.mutation(
        description="Queue a test message to a channel; the workers send it like any other "
        "(follow it in `deliveries`)."
    )
    async def test_channel(self, info: strawberry.Info, id: strawberry.ID) -> TestChannelResult:
        channel_id = _key(id, "NotificationChannel")
        row = (
            None
            if channel_id is None
            else await outbox.queue_test_message(info.context.pool, channel_id)
        )
        return not_found(id) if row is None else Delivery.from_row(row)

    @strawberry.mutation(description="Create a maintenance window.")
    async def create_maintenance_window(
        self, info: strawberry.Info, input: CreateMaintenanceWindowInput
    ) -> MaintenanceWindowResult:
        try:
            row = await maintenance.create_window(info.context.pool, maintenance_fields(input))
        except InvalidFields as error:
            return validation_error(error)
        return MaintenanceWindow.from_row(row)

    @strawberry.mutation(description="Change a maintenance window; absent fields are unchanged.")
    async def update_maintenance_window(
        self, info: strawberry.Info, input: UpdateMaintenanceWindowInput
    ) -> MaintenanceWindowResult:
        window_id = _key(input.id, "MaintenanceWindow")
        current = (
            None
            if window_id is None
            else await maintenance.window_by_id(info.context.pool, window_id)
        )
        if window_id is None or current is None:
            return not_found(input.id)
        try:
            fields = maintenance_fields(input, current)
            row = await maintenance.update_window(info.context.pool, window_id, fields)
        except InvalidFields as error:
            return validation_error(error)
        return not_found(input.id) if row is None else MaintenanceWindow.from_row(row)

    @strawberry.mutation(description="Delete a maintenance window.")
    async def delete_maintenance_window(
        self, info: strawberry.Info, id: strawberry.ID
    ) -> DeleteResult:
        window_id = _key(id, "MaintenanceWindow")
        if window_id is None or not await maintenance.delete_window(info.context.pool, window_id):
            return not_found(id)
        return Deleted(id=id)

    # -- monitors as code -------------------------------------------------------------------

    @strawberry.mutation(
        description="Make the targets, channels and maintenance windows match a configuration "
        "document (docs/configuration.md), in one transaction: answers the plan (with `dryRun`, "
        "only the plan), or a ValidationError naming every problem at its path in the document, "
        "with nothing written. Objects are matched by key; with `prune`, the ones the document "
        "does not name are deleted."
    )
    async def apply_configuration(
        self, info: strawberry.Info, input: ApplyConfigurationInput
    ) -> ApplyConfigurationResult:
        return await apply_configuration(info, input)
