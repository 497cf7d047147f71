"""Readiness, shared by the API's and the worker's ``/readyz``."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import asyncpg
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from uptime_core.runtime.migrations import head_revision

# A probe from Kubernetes must get its answer before its own timeout (1 s by default there).
READINESS_TIMEOUT_SECONDS = 3.0


async def readiness_problem(read_revision: Callable[[], Awaitable[str | None]]) -> str | None:
    """None when the database answers and its schema is at the code's head; else why not.

    ``read_revision`` is ``migrations.current_revision`` bound to the process's pool.
    """
    try:
        async with asyncio.timeout(READINESS_TIMEOUT_SECONDS):
            current = await read_revision()
    except (
        OSError,
        TimeoutError,
        DBAPIError,
        InterfaceError,
        OperationalError,
        asyncpg.PostgresError,
        asyncpg.InterfaceError,
    ) as error:
        return f"database unreachable: {type(error).__name__}"
    head = head_revision()
    if current != head:
        at = current or "nothing"
        return f"database schema at {at}, code expects {head}: run `uptime migrate`"
    return None
