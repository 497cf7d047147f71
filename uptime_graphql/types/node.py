"""Relay-style global ids: ``base64("Type:key")``, opaque to clients; ``target_keys`` reads
the target ids an input gives."""

from __future__ import annotations

import base64
import binascii

import strawberry

from uptime_core.validation import FieldError, InvalidFields


@strawberry.interface(description="An object with a global id.")
class Node:
    id: strawberry.ID


def global_id(type_name: str, key: int) -> strawberry.ID:
    return strawberry.ID(base64.urlsafe_b64encode(f"{type_name}:{key}".encode()).decode())


def parse_global_id(value: str, expected: str | None = None) -> tuple[str, int] | None:
    """(type, key) of a global id, or None when it is not one (of ``expected``, if given)."""
    try:
        type_name, _, key = base64.urlsafe_b64decode(value.encode()).decode().partition(":")
        number = int(key)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    if expected is not None and type_name != expected:
        return None
    return type_name, number


def target_keys(ids: list[strawberry.ID], field: str = "targetIds") -> list[int]:
    """The keys of target ids given in an input; ``InvalidFields`` (on ``field``) for an id
    that is not a target's."""
    keys = []
    for value in ids:
        parsed = parse_global_id(value, "Target")
        if parsed is None:
            raise InvalidFields([FieldError(field, f"{value} is not a target id")])
        keys.append(parsed[1])
    return keys
