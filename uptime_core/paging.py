"""Keyset pages: every list query fetches ``first + 1`` rows after a key, so one more row says
that another page follows. The API turns a page into a Relay connection
(``uptime_graphql/types/pagination.py``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import asyncpg

Row = TypeVar("Row")


def page(
    rows: list[asyncpg.Record], first: int, make: Callable[..., Row]
) -> tuple[list[Row], bool]:
    """A page from a query that fetched ``first + 1`` rows: the rows, and whether more follow."""
    return [make(**dict(row)) for row in rows[:first]], len(rows) > first
