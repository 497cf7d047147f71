"""`uptime run` (what `make run` starts): embedded database, migrations, API and worker;
one signal stops everything and leaves no server process behind; the data persists."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import psutil
import pytest

from tests.support.net import free_port, wait_for_http
from uptime_core.db import libpq_url
from uptime_core.embedded import EmbeddedPostgres


def live_postgres_processes(pgdata: Path) -> list[psutil.Process]:
    """Running (not zombie) postgres processes serving ``pgdata``."""
    found = []
    for process in psutil.process_iter(["name", "cmdline", "status"]):
        if process.info["status"] == psutil.STATUS_ZOMBIE:
            continue
        if process.info["name"] == "postgres" and str(pgdata) in " ".join(
            process.info["cmdline"] or []
        ):
            found.append(process)
    # Background postgres processes don't carry -D; find them through the postmaster's children.
    for postmaster in list(found):
        found.extend(postmaster.children(recursive=True))
    return found


class RunningUptime:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.api_port = free_port()
        self.worker_port = free_port()
        env = {
            **os.environ,
            "UPTIME_DATA_DIR": str(data_dir),
            "UPTIME_API_PORT": str(self.api_port),
            "UPTIME_WORKER_HEALTH_PORT": str(self.worker_port),
        }
        env.pop("DATABASE_URL", None)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "uptime_core.cli", "run"],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.family = psutil.Process(self.process.pid)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def descendants(self) -> list[psutil.Process]:
        return self.family.children(recursive=True)

    def stop(self, signum: int) -> str:
        children = self.descendants()
        self.process.send_signal(signum)
        output, _ = self.process.communicate(timeout=60)
        assert self.process.returncode == 0, output
        _, alive = psutil.wait_procs(children, timeout=10)
        assert not [p for p in alive if p.status() != psutil.STATUS_ZOMBIE], output
        return output

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.communicate()


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "data"
    yield path
    # Whatever happened in the test, leave no server behind.
    if (path / "postgres" / "PG_VERSION").exists():
        server = EmbeddedPostgres(path)
        if server._running_socket_dir() is not None:
            server.start()
            server.stop()


def start_and_check(data_dir: Path) -> RunningUptime:
    app = RunningUptime(data_dir)
    try:
        wait_for_http(f"{app.base}/healthz", timeout=60)
        wait_for_http(f"{app.base}/readyz", timeout=30)
        answer = httpx.post(f"{app.base}/graphql", json={"query": "{ __typename }"}, timeout=5)
        assert answer.status_code == 200
        assert answer.json() == {"data": {"__typename": "Query"}}
        wait_for_http(f"http://127.0.0.1:{app.worker_port}/readyz", timeout=30)
    except BaseException:
        app.kill()
        raise
    return app


async def sql(url: str, statement: str) -> object:
    connection = await asyncpg.connect(libpq_url(url))
    try:
        return await connection.fetchval(statement)
    finally:
        await connection.close()


def socket_url(data_dir: Path) -> str:
    return f"postgresql://postgres@/postgres?host={data_dir / 'postgres'}&port=5432"


def test_run_serves_stops_cleanly_and_keeps_its_data(data_dir: Path) -> None:
    pgdata = data_dir / "postgres"

    first = start_and_check(data_dir)
    asyncio.run(sql(socket_url(data_dir), "CREATE TABLE kept (note text)"))
    asyncio.run(sql(socket_url(data_dir), "INSERT INTO kept VALUES ('from the first run')"))
    assert live_postgres_processes(pgdata), "the embedded PostgreSQL should be running"
    output = first.stop(signal.SIGINT)
    assert "Traceback" not in output
    assert live_postgres_processes(pgdata) == [], output

    second = start_and_check(data_dir)
    kept = asyncio.run(sql(socket_url(data_dir), "SELECT note FROM kept"))
    assert kept == "from the first run"
    output = second.stop(signal.SIGTERM)
    assert "Traceback" not in output
    assert "nothing to do" in output  # the second start found the schema current
    assert live_postgres_processes(pgdata) == [], output


def test_a_second_run_on_the_same_data_directory_is_refused(data_dir: Path) -> None:
    first = start_and_check(data_dir)
    try:
        env = {**os.environ, "UPTIME_DATA_DIR": str(data_dir), "UPTIME_API_PORT": str(free_port())}
        env.pop("DATABASE_URL", None)
        second = subprocess.run(
            [sys.executable, "-m", "uptime_core.cli", "run"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert second.returncode != 0
        assert "in use by pid" in second.stderr
        assert "Traceback" not in second.stderr
        # The refused run must not have disturbed the first one.
        wait_for_http(f"{first.base}/readyz", timeout=5)
    finally:
        first.stop(signal.SIGTERM)


def test_a_server_left_by_a_killed_run_is_adopted_and_stopped(data_dir: Path) -> None:
    first = start_and_check(data_dir)
    first.process.kill()  # SIGKILL: no chance to stop PostgreSQL
    first.process.communicate()
    assert live_postgres_processes(data_dir / "postgres"), "SIGKILL leaves the server running"

    second = start_and_check(data_dir)
    output = second.stop(signal.SIGTERM)
    assert "adopting" in output
    assert live_postgres_processes(data_dir / "postgres") == [], output


def test_run_refuses_a_public_address_without_a_token(data_dir: Path) -> None:
    env = {**os.environ, "UPTIME_DATA_DIR": str(data_dir), "UPTIME_API_HOST": "0.0.0.0"}
    env.pop("UPTIME_API_TOKEN", None)
    result = subprocess.run(
        [sys.executable, "-m", "uptime_core.cli", "run"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert "UPTIME_API_TOKEN" in result.stderr
    assert not (data_dir / "postgres").exists(), "nothing should have started"
