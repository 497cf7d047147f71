"""Paging for every list field: ``first``/``after`` checked, opaque cursors, and one generic
Connection/Edge pair built from a keyset page (``uptime_core/paging.py``: the rows, and
whether more follow). ``Connection[Target]`` is named ``TargetConnection`` in the schema,
``Edge[Target]`` ``TargetEdge``."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

import strawberry

from uptime_graphql.errors import bad_input

MAX_PAGE = 100
NodeType = TypeVar("NodeType")
Row = TypeVar("Row")
Key = TypeVar("Key")


def page_size(first: int | None, default: int = 20) -> int:
    """``first``, checked: lists are capped at MAX_PAGE."""
    if first is None:
        return default
    if not 1 <= first <= MAX_PAGE:
        raise bad_input(f"first must be from 1 to {MAX_PAGE}")
    return first


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


def after_key(after: str | None, parse: Callable[[str], Key]) -> Key | None:
    """The key inside an ``after`` cursor, parsed; a clear error for a foreign cursor."""
    try:
        key = parse_cursor(after)
        return None if key is None else parse(key)
    except ValueError:
        raise bad_input("after is not a cursor this server gave out") from None


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class Edge(Generic[NodeType]):
    cursor: str
    node: NodeType


@strawberry.type
class Connection(Generic[NodeType]):
    edges: list[Edge[NodeType]]
    page_info: PageInfo


def connection(
    page: tuple[Sequence[Row], bool],
    key: Callable[[Row], str | int],
    node: Callable[[Row], NodeType],
) -> Connection[NodeType]:
    """The connection of a keyset page: one edge per row, its cursor made of ``key(row)``."""
    rows, has_next = page
    edges = [Edge(cursor=cursor(str(key(row))), node=node(row)) for row in rows]
    return Connection(
        edges=edges,
        page_info=PageInfo(has_next_page=has_next, end_cursor=edges[-1].cursor if edges else None),
    )
