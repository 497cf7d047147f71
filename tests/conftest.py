"""Fixtures every test tier shares: the throwaway PostgreSQL and per-test databases; and the
``slow`` mark, which splits the suite in two tiers.

``make test-fast`` (``pytest -m "not slow"``) is the inner loop: tests that run in this
process against the shared PostgreSQL, in about 80 s. ``make test`` runs both tiers. A test
is slow when it starts a program besides that PostgreSQL (an uptime command, even one that
exits at once; Chromium; a network namespace; hadolint, kubectl, check-jsonschema; not a
`git ls-files` of milliseconds), or when it takes 2 s or more by itself. It is marked in
one of three places:

- a fixture it uses, directly or through another, is in ``SLOW_FIXTURES`` below (a fixture
  that starts processes goes there when it is written);
- its module starts processes itself: ``pytestmark = pytest.mark.slow`` at its top
  (tests/run/, test_signals.py, core/test_migrations.py);
- it is one such test in a module of fast ones: its node id is in ``SLOW_TESTS`` below.

``pytest -m slow`` and ``pytest -m "not slow"`` together run the whole suite.

``make test`` runs it in two processes (pytest-xdist, ``-n 2 --dist loadgroup``): each test
module is a group that one process runs whole (its module fixtures started once), except the
tests that use the network namespaces of ``NETWORK_LAB_FIXTURES``, which share one group: the
namespaces' host routes and addresses are fixed, and two processes building them at once
collide. Each process has its own PostgreSQL.
"""

from __future__ import annotations

import asyncio
import os
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

# Fixtures that start programs or a browser: every test using one, even through another
# fixture, is marked slow.
SLOW_FIXTURES = frozenset(
    {
        "start_worker",  # `uptime worker` subprocesses (tests/support/processes.py)
        "start_api",  # `uptime api` subprocesses (tests/graphql/trust/)
        "api_process",  # an `uptime api` subprocess (tests/graphql/test_end_to_end.py)
        "start_uptime",  # the API and a worker for the browser (tests/browser/)
        "browser",  # Chromium through Playwright (tests/browser/)
        "start_program",  # the programs as the images start them (tests/deploy/)
        "lab",  # a network namespace and processes in it (tests/core/probes/)
        "metadata_namespace",  # the same for the metadata address (tests/core/probes/)
    }
)

# Fixtures that set up fixed host routes and addresses: their tests run in one process.
NETWORK_LAB_FIXTURES = frozenset({"lab", "metadata_namespace"})

# Single tests, in modules whose other tests are fast, that start a process themselves or
# take long; by node id (all parameters). A name here that its module lacks is an error.
SLOW_TESTS = frozenset(
    {
        # `uptime api` and `uptime run` refusing each token: 8 programs started
        "tests/graphql/trust/test_tokens.py::test_an_empty_or_example_token_stops_the_program_with_one_line",
        # `uptime api` refusing to start
        "tests/graphql/test_app.py::test_api_refuses_a_public_address_without_a_token",
        "tests/graphql/test_app.py::test_api_without_database_url_says_how_to_get_one",
        # `uptime stats rebuild`
        "tests/core/test_stats.py::test_uptime_stats_rebuild_reports_each_rollup_by_its_name",
        # check-jsonschema, hadolint, kubectl kustomize
        "tests/deploy/test_compose.py::test_compose_file_passes_the_compose_specification_schema",
        "tests/deploy/test_dockerfiles.py::test_dockerfiles_pass_hadolint",
        "tests/deploy/test_dockerfiles.py::test_hadolint_fails_a_bad_dockerfile",
        "tests/deploy/test_kubernetes.py::test_a_real_kustomize_renders_the_same_objects",
        # in-process, 3 s or more waiting out timeouts on purpose
        "tests/alerting/test_delivery.py::test_a_receiver_failing_three_times_gets_the_message_once_with_one_key",
        "tests/alerting/test_delivery.py::test_stopping_never_gives_back_a_message_that_went_out",
        "tests/alerting/test_send_policy.py::test_a_receiver_slower_than_the_timeout_gets_the_same_message_each_time",
    }
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    modules = {}
    for item in items:
        uses = set(getattr(item, "fixturenames", ()))
        if uses & SLOW_FIXTURES or item.nodeid.split("[")[0] in SLOW_TESTS:
            item.add_marker(pytest.mark.slow)
        group = "network-lab" if uses & NETWORK_LAB_FIXTURES else item.nodeid.split("::")[0]
        item.add_marker(pytest.mark.xdist_group(group))
        if isinstance(item, pytest.Function):
            modules[item.nodeid.split("::")[0]] = item.module
    for entry in SLOW_TESTS:
        path, name = entry.split("::")
        if path in modules and not hasattr(modules[path], name):
            raise pytest.UsageError(f"tests/conftest.py SLOW_TESTS names no test: {entry}")


def _memory_dir() -> str | None:
    """/dev/shm where it is writable and has room (a container's 64 MiB does not), else the
    default temporary directory. Every test copies the template database: on a disk that
    took 0.2 to 0.5 s (more with other programs writing), in memory 0.05 s."""
    shm = "/dev/shm"
    try:
        free = os.statvfs(shm).f_bavail * os.statvfs(shm).f_frsize
    except OSError:
        return None
    return shm if os.access(shm, os.W_OK) and free >= 4 * 1024**3 else None


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL server for the whole test run (the embedded mechanism the program uses),
    with a migrated template database that each test copies."""
    # Not under pytest's tmp_path: a second pytest run would prune that while this one runs.
    data_dir = Path(tempfile.mkdtemp(prefix="uptime-test-pg-", dir=_memory_dir()))
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
