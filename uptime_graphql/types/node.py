"""Relay-style global ids: ``base64("Type:key")``, opaque to clients."""

from __future__ import annotations

import base64
import binascii

import strawberry


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


def cursor(key: str) -> str:
    return base64.urlsafe_b64encode(f"cursor:{key}".encode()).decode()


def parse_cursor(value: str | None) -> str | None:
    """The key inside a cursor; raises ValueError for something that is not one."""
    if value is None:
        return None
    try:
        kind, _, key = base64.urlsafe_b64decode(value.encode()).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        raise ValueError("not a cursor") from None
    if kind != "cursor" or not key:
        raise ValueError("not a cursor")
    return key


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None
