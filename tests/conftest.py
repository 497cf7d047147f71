"""Fixtures every test tier shares: the throwaway PostgreSQL and per-test databases."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest

from tests.support.postgres import TEMPLATE, create_database, drop_database
from tests.support.processes import StartWorker, WorkerProcess
from uptime_core.runtime import migrations
from uptime_core.runtime.db import libpq_url
from uptime_core.runtime.embedded import EmbeddedPostgres
from uptime_core.runtime.settings import Settings

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL server for the whole test run (the embedded mechanism the program uses),
    with a migrated template database that each test copies."""
    # Not under pytest's tmp_path: a second pytest run would prune that while this one runs.
    data_dir = Path(tempfile.mkdtemp(prefix="uptime-test-pg-"))
    server = EmbeddedPostgres(data_dir)
    url = server.start()
    try:
        migrations.upgrade(asyncio.run(create_database(url, name=TEMPLATE)))
        yield url
    finally:
        server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture
async def database_url(postgres_url: str) -> AsyncIterator[str]:
    """A fresh, migrated database for one test."""
    url = await create_database(postgres_url, template=TEMPLATE)
    yield url
    await drop_database(url)


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection to the test's database."""
    connection = await asyncpg.connect(libpq_url(database_url))
    yield connection
    await connection.close()


@pytest.fixture
async def empty_database_url(postgres_url: str) -> AsyncIterator[str]:
    """A fresh database with no schema at all."""
    url = await create_database(postgres_url, template="template0")
    yield url
    await drop_database(url)


@pytest.fixture
async def start_worker() -> AsyncIterator[StartWorker]:
    """``start_worker(database_url, "w1", worker_concurrency="2")``; all killed at the end."""
    started: list[WorkerProcess] = []

    def start(database_url: str, worker_id: str, **settings: str) -> WorkerProcess:
        worker = WorkerProcess(database_url, worker_id, **settings)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.kill()
        worker.log_path.unlink(missing_ok=True)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", database_url=None)
