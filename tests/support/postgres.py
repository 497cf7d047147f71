"""Throwaway PostgreSQL for the tests: one server per test run, one database per test."""

from __future__ import annotations

import uuid
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from uptime_core.db import libpq_url

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
