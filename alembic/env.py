"""Alembic environment: runs migrations on asyncpg, one at a time across processes."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import pool, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlmodel import SQLModel

from uptime_core import models  # noqa: F401  (registers the tables on SQLModel.metadata)
from uptime_core.runtime.db import async_url
from uptime_core.runtime.migrations import MIGRATION_LOCK_ID, include_name
from uptime_core.runtime.settings import get_settings

config = context.config
target_metadata = SQLModel.metadata


def database_url() -> str:
    url = config.attributes.get("database_url") or get_settings().database_url
    if not url:
        raise SystemExit("set DATABASE_URL to the database to migrate")
    return str(url)


def run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        compare_server_default=True,
        include_name=include_name,
    )
    with context.begin_transaction():
        # Two `uptime migrate` at once (say, two pods) would race: the second waits here and
        # then finds nothing left to do.
        connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": MIGRATION_LOCK_ID})
        context.run_migrations()


async def run_online() -> None:
    engine = create_async_engine(async_url(database_url()), poolclass=pool.NullPool)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(run_migrations)
    finally:
        await engine.dispose()


if context.is_offline_mode():
    context.configure(
        url=async_url(database_url()), target_metadata=target_metadata, literal_binds=True
    )
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(run_online())
