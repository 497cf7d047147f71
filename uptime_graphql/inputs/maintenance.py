"""Inputs for maintenance windows, and their translation to the core's fields."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

import strawberry

from uptime_core.maintenance import MaintenanceFields, MaintenanceRow
from uptime_core.validation import FieldError, InvalidFields
from uptime_graphql.inputs.keys import key_on_create, key_on_update
from uptime_graphql.types.enums import MaintenanceKind, Weekday
from uptime_graphql.types.node import target_keys


@strawberry.input(description="A new maintenance window.")
class CreateMaintenanceWindowInput:
    name: str
    kind: MaintenanceKind
    key: str | None = key_on_create()
    target_id: strawberry.ID | None = strawberry.field(
        default=None, description="Null: every target."
    )
    starts_at: datetime | None = strawberry.field(
        default=None, description="ONCE: the start, with a UTC offset (2026-12-01T22:00:00Z)."
    )
    ends_at: datetime | None = strawberry.field(
        default=None, description="ONCE: the end, with a UTC offset."
    )
    weekdays: list[Weekday] | None = None
    local_start: time | None = None
    duration_seconds: int | None = None
    time_zone: str | None = None


@strawberry.input(description="Changes to a maintenance window; absent fields are unchanged.")
class UpdateMaintenanceWindowInput:
    id: strawberry.ID
    name: str | None = strawberry.UNSET
    key: str | None = key_on_update()
    kind: MaintenanceKind | None = strawberry.UNSET
    target_id: strawberry.ID | None = strawberry.UNSET
    starts_at: datetime | None = strawberry.UNSET
    ends_at: datetime | None = strawberry.UNSET
    weekdays: list[Weekday] | None = strawberry.UNSET
    local_start: time | None = strawberry.UNSET
    duration_seconds: int | None = strawberry.UNSET
    time_zone: str | None = strawberry.UNSET


def _target_key(value: strawberry.ID | None) -> int | None:
    return None if value is None else target_keys([value], "targetId")[0]


def maintenance_fields(
    given: CreateMaintenanceWindowInput | UpdateMaintenanceWindowInput,
    current: MaintenanceRow | None = None,
) -> MaintenanceFields:
    """The core's fields from an input (over ``current`` for an update)."""

    def pick(name: str) -> Any:
        value = getattr(given, name)
        if value is strawberry.UNSET:
            return getattr(current, name) if current is not None else None
        return value

    target = given.target_id
    weekdays = pick("weekdays")
    name, kind = pick("name"), pick("kind")
    if name is None or kind is None:
        raise InvalidFields([FieldError("name" if name is None else "kind", "is required")])
    key = pick("key")
    if current is not None and key is None:
        raise InvalidFields([FieldError("key", "must not be null")])
    return MaintenanceFields(
        name=name,
        target_id=(current.target_id if current else None)
        if target is strawberry.UNSET
        else _target_key(target),
        kind=MaintenanceKind(kind),
        starts_at=pick("starts_at"),
        ends_at=pick("ends_at"),
        weekdays=None if weekdays is None else [int(day) for day in weekdays],
        local_start=pick("local_start"),
        duration_seconds=pick("duration_seconds"),
        time_zone=pick("time_zone"),
        key=key,
    )
