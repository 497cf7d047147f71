"""`uptime run` starts, serves and stops: one signal stops everything and leaves no server
process behind; the data persists; a second run on the same data is refused and a server
left by a killed one is adopted; a stop between child starts or one a fast shutdown cannot
finish still ends cleanly."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import psutil
import pytest

from tests.run.support import live_postgres_processes, socket_url, sql, start_and_check
from tests.support.net import free_port, wait_for_http
from uptime_cli import commands as cli
from uptime_core.runtime.db import libpq_url
from uptime_core.runtime.embedded import FAST_STOP_SECONDS, EmbeddedPostgres
from uptime_core.runtime.settings import Settings
from uptime_core.runtime.signals import Shutdown

pytestmark = pytest.mark.slow  # starts `uptime run` (see tests/conftest.py)


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
            [sys.executable, "-m", "uptime_cli", "run"],
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
        [sys.executable, "-m", "uptime_cli", "run"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert "UPTIME_API_TOKEN" in result.stderr
    assert not (data_dir / "postgres").exists(), "nothing should have started"


def test_a_stop_between_two_child_starts_stops_the_first_child_before_the_database(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # In-process: the stop signal (Shutdown) lands after the API child started and before the
    # worker did. The API child must be stopped, and before its database is.
    monkeypatch.setenv("UPTIME_API_PORT", str(free_port()))
    monkeypatch.setenv("UPTIME_WORKER_HEALTH_PORT", str(free_port()))
    started: list[cli.Child] = []
    api_running_when_database_stopped: list[bool] = []

    @contextlib.contextmanager
    def database_server(settings: Settings) -> Iterator[tuple[str, None]]:
        try:
            yield database_url, None
        finally:
            api_running_when_database_stopped.extend(
                child.process is not None and child.process.poll() is None for child in started
            )

    real_start = cli.Child.start

    def start(child: cli.Child) -> None:
        if child.name == "worker":
            raise Shutdown("SIGTERM")
        real_start(child)
        started.append(child)

    monkeypatch.setattr(cli, "database_server", database_server)
    monkeypatch.setattr(cli.Child, "start", start)
    handlers = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    settings = Settings(data_dir=tmp_path / "data", database_url=database_url)
    try:
        with pytest.raises(Shutdown):
            cli.command_run(settings)
    finally:
        for signum, handler in handlers.items():
            signal.signal(signum, handler)
        for child in started:
            if child.process is not None and child.process.poll() is None:
                child.process.kill()
                child.process.wait()
    assert [child.name for child in started] == ["api"]
    assert api_running_when_database_stopped == [False], "the API outlived its database"


async def test_a_stop_that_a_fast_shutdown_cannot_finish_is_made_immediate(
    data_dir: Path,
) -> None:
    # A frozen backend (SIGSTOP) never ends its session, so a fast shutdown waits for it for
    # ever; the stop moves on to an immediate shutdown after FAST_STOP_SECONDS.
    server = EmbeddedPostgres(data_dir)
    url = await asyncio.to_thread(server.start)
    connection = await asyncpg.connect(libpq_url(url))
    backend = psutil.Process(connection.get_server_pid())
    backend.suspend()
    try:
        started = time.monotonic()
        await asyncio.to_thread(server.stop)
        took = time.monotonic() - started
    finally:
        with contextlib.suppress(psutil.NoSuchProcess):
            backend.kill()
        connection.terminate()
    assert not server.is_running()
    assert live_postgres_processes(data_dir / "postgres") == []
    # Fast, then immediate (PostgreSQL kills what is left after 5 s), with room for a busy
    # machine; far from the 60 s a fast shutdown alone was given.
    assert took < FAST_STOP_SECONDS + 5 + 5, took
