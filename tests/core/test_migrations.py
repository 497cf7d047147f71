"""Migrations produce exactly the models, round-trip, and `uptime migrate` behaves."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

from uptime_core.runtime import migrations
from uptime_core.runtime.db import create_engine
from uptime_core.runtime.settings import Settings

pytestmark = pytest.mark.slow  # starts `uptime migrate` (see tests/conftest.py)


async def schema_differences(url: str) -> list[Any]:
    def compare(connection: Connection) -> list[Any]:
        options = {
            "compare_type": True,
            "compare_server_default": True,
            "include_name": migrations.include_name,
        }
        context = MigrationContext.configure(connection, opts=options)
        return list(compare_metadata(context, SQLModel.metadata))

    engine = create_engine(url, Settings(database_url=url))
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(compare)
    finally:
        await engine.dispose()


async def test_migrations_produce_exactly_the_models(database_url: str) -> None:
    assert await schema_differences(database_url) == []


async def test_downgrade_then_upgrade_round_trips(database_url: str) -> None:
    await asyncio.to_thread(migrations.downgrade, database_url, "base")
    differences = await schema_differences(database_url)
    assert differences, "after downgrading to base the tables should be gone"
    await asyncio.to_thread(migrations.upgrade, database_url)
    assert await schema_differences(database_url) == []


def run_uptime(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "uptime_cli", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def test_migrate_on_an_empty_database_then_again_is_a_no_op(empty_database_url: str) -> None:
    first = await asyncio.to_thread(run_uptime, "migrate", env={"DATABASE_URL": empty_database_url})
    assert first.returncode == 0, first.stderr
    assert "migrated database" in first.stderr
    assert await schema_differences(empty_database_url) == []

    second = await asyncio.to_thread(
        run_uptime, "migrate", env={"DATABASE_URL": empty_database_url}
    )
    assert second.returncode == 0, second.stderr
    assert "nothing to do" in second.stderr
    assert "migrated database" not in second.stderr


def assert_one_line_error(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def test_migrate_against_a_refused_port_names_the_host_and_what_to_check() -> None:
    result = run_uptime("migrate", env={"DATABASE_URL": "postgresql://uptime@127.0.0.1:9/uptime"})
    assert_one_line_error(result, "127.0.0.1:9", "connection refused", "check")


def test_migrate_against_an_unknown_host_says_it_does_not_resolve() -> None:
    result = run_uptime("migrate", env={"DATABASE_URL": "postgresql://u@db.invalid:5432/uptime"})
    assert_one_line_error(result, "db.invalid:5432", "does not resolve")


def test_migrate_with_a_wrong_scheme_says_what_is_expected() -> None:
    result = run_uptime("migrate", env={"DATABASE_URL": "mysql://u@127.0.0.1/uptime"})
    assert_one_line_error(
        result, "uptime: error: invalid configuration: DATABASE_URL must", "postgresql://"
    )


def test_migrate_with_a_bad_port_names_the_variable() -> None:
    result = run_uptime("migrate", env={"DATABASE_URL": "postgresql://u@127.0.0.1:99999/x"})
    assert_one_line_error(result, "uptime: error: invalid configuration: DATABASE_URL has a port")


async def test_migrate_with_a_missing_database_names_it(postgres_url: str) -> None:
    from tests.support.postgres import with_database

    url = with_database(postgres_url, "no_such_database")
    result = await asyncio.to_thread(run_uptime, "migrate", env={"DATABASE_URL": url})
    assert_one_line_error(result, "no_such_database", "check DATABASE_URL")


def test_a_bad_setting_is_named_in_one_line() -> None:
    result = run_uptime("migrate", env={"UPTIME_API_PORT": "eighty"})
    assert_one_line_error(result, "UPTIME_API_PORT", "integer")
    assert result.returncode == 2
