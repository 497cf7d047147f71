"""Throwaway PostgreSQL for the tests: one server per test run, one database per test."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from uptime_core.runtime import migrations
from uptime_core.runtime.db import libpq_url
from uptime_core.runtime.embedded import EmbeddedPostgres

TEMPLATE = "uptime_template"


def with_database(url: str, name: str) -> str:
    """The same server URL pointing at another database."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


async def create_database(
    server_url: str, *, template: str | None = None, name: str | None = None
) -> str:
    """A new database (copied from ``template`` if given, uniquely named unless ``name``);
    its URL. An existing database of that name is dropped first."""
    name = name or f"test_{uuid.uuid4().hex[:16]}"
    connection = await asyncpg.connect(libpq_url(server_url))
    try:
        source = f" TEMPLATE {template}" if template else ""
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
        await connection.execute(f'CREATE DATABASE "{name}"{source}')
    finally:
        await connection.close()
    return with_database(server_url, name)


async def drop_database(database_url: str) -> None:
    name = urlsplit(database_url).path.lstrip("/")
    connection = await asyncpg.connect(libpq_url(with_database(database_url, "postgres")))
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


@contextlib.contextmanager
def benchmark_database(name: str, data_dir: Path | None = None) -> Iterator[str]:
    """A migrated database for a benchmark script (not for use inside an event loop), its
    URL: on DATABASE_URL's server if that is set, else on an embedded PostgreSQL in
    ``data_dir`` (kept afterwards) or in a temporary directory (removed afterwards)."""
    directory = data_dir or Path(tempfile.mkdtemp(prefix=f"{name}-"))
    server: EmbeddedPostgres | None = None
    try:
        if os.environ.get("DATABASE_URL"):
            url = os.environ["DATABASE_URL"]
        else:
            server = EmbeddedPostgres(directory)
            url = asyncio.run(create_database(server.start(), name=name))
        migrations.upgrade(url)
        yield url
    finally:
        if server is not None:
            server.stop()
        if data_dir is None:
            shutil.rmtree(directory, ignore_errors=True)
