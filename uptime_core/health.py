"""Readiness, shared by the API's and the worker's ``/readyz``."""

from __future__ import annotations

import asyncio

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from uptime_core.migrations import current_revision, head_revision

# A probe from Kubernetes must get its answer before its own timeout (1 s by default there).
READINESS_TIMEOUT_SECONDS = 3.0


async def readiness_problem(engine: AsyncEngine) -> str | None:
    """None when the database answers and its schema is at the code's head; else why not."""
    try:
        async with asyncio.timeout(READINESS_TIMEOUT_SECONDS), engine.connect() as connection:
            current = await current_revision(connection)
    except (OSError, TimeoutError, DBAPIError, InterfaceError, OperationalError) as error:
        return f"database unreachable: {type(error).__name__}"
    head = head_revision()
    if current != head:
        at = current or "nothing"
        return f"database schema at {at}, code expects {head}: run `uptime migrate`"
    return None
