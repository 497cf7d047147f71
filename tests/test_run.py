"""`uptime run` (what `make run` starts): embedded database, migrations, API and worker;
one signal stops everything and leaves no server process behind; the data persists; a
database that dies is started again while the API and the worker keep running."""

from __future__ import annotations

import asyncio
import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import psutil
import pytest

from tests.support.net import free_port, wait_for_http
from tests.support.targets import TargetSpec, insert_targets
from tests.support.wait import poll_until
from uptime_cli import commands as cli
from uptime_core.runtime.db import libpq_url
from uptime_core.runtime.embedded import (
    FAST_STOP_SECONDS,
    SYSTEM_USER,
    EmbeddedPostgres,
    binaries_dir,
)
from uptime_core.runtime.settings import Settings
from uptime_core.runtime.signals import Shutdown


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


# `uptime run` as PID 1 of a PID namespace of its own, with its own /proc, as in a container.
AS_PID_1 = ("unshare", "--pid", "--fork", "--mount-proc", "--kill-child")


class RunningUptime:
    def __init__(self, data_dir: Path, *, wrapper: tuple[str, ...] = ()) -> None:
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
        # A file, not a pipe: nobody reads a pipe while the test runs, and a full one would
        # block every process writing to it.
        self.log_path = data_dir.parent / "uptime-run.log"
        with self.log_path.open("w") as log:
            self.process = subprocess.Popen(
                [*wrapper, sys.executable, "-m", "uptime_cli", "run"],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                text=True,
            )
        self.family = psutil.Process(self.process.pid)

    @property
    def output(self) -> str:
        return self.log_path.read_text()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def descendants(self) -> list[psutil.Process]:
        return self.family.children(recursive=True)

    def stop(self, signum: int) -> str:
        children = self.descendants()
        self.process.send_signal(signum)
        self.process.wait(timeout=60)
        output = self.output
        assert self.process.returncode == 0, output
        _, alive = psutil.wait_procs(children, timeout=10)
        assert not [p for p in alive if p.status() != psutil.STATUS_ZOMBIE], output
        return output

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def data_dir() -> Iterator[Path]:
    # Not under pytest's tmp_path: another pytest run resets its base directory to 0700,
    # which locks out the embedded server's own user (when the tests run as root).
    parent = Path(tempfile.mkdtemp(prefix="uptime-run-"))
    path = parent / "data"
    yield path
    # Whatever happened in the test, leave no server behind.
    if (path / "postgres" / "PG_VERSION").exists():
        server = EmbeddedPostgres(path)
        if server._running_socket_dir() is not None:
            server.start()
            server.stop()
    shutil.rmtree(parent, ignore_errors=True)


def start_and_check(data_dir: Path, *, wrapper: tuple[str, ...] = ()) -> RunningUptime:
    app = RunningUptime(data_dir, wrapper=wrapper)
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


OUTAGES = ["immediate", "kill"] * 5
OUTAGE_STARTS = "uptime.worker: database unavailable ("
OUTAGE_ENDS = "uptime.worker: database reachable again after"


def postmaster_pid(data_dir: Path) -> int | None:
    try:
        return int((data_dir / "postgres" / "postmaster.pid").read_text().splitlines()[0])
    except (OSError, ValueError, IndexError):
        return None


def take_down(data_dir: Path, how: str) -> None:
    """``pg_ctl stop -m immediate`` (as the server's user) or SIGKILL to the postmaster."""
    if how == "kill":
        pid = postmaster_pid(data_dir)
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        return
    as_user: dict[str, Any] = {}
    if os.geteuid() == 0:  # the embedded server runs as its own user; pg_ctl refuses root
        entry = pwd.getpwnam(SYSTEM_USER)
        as_user = {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}
    # -W: do not wait, `uptime run` may have started the server again before pg_ctl looks.
    subprocess.run(
        [binaries_dir() / "pg_ctl", "stop", "-D", data_dir / "postgres", "-m", "immediate", "-W"],
        check=True,
        capture_output=True,
        cwd="/",
        **as_user,
    )


async def recording_again(url: str, returned_at: object) -> int:
    connection = await asyncpg.connect(libpq_url(url))
    try:
        count: int = await poll_until(
            lambda: connection.fetchval(
                "SELECT count(*) FROM check_result WHERE finished_at > $1", returned_at
            ),
            bool,
            within=10,
            every=0.1,
        )
        return count
    finally:
        await connection.close()


async def back_since(url: str, within: float) -> object:
    """The database clock once the server answers again (polled), or None."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            return await sql(url, "SELECT now()")
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
            await asyncio.sleep(0.05)
    return None


def worker_metric(app: RunningUptime, name: str) -> float:
    text = httpx.get(f"http://127.0.0.1:{app.worker_port}/metrics", timeout=5).text
    [line] = [x for x in text.splitlines() if x.startswith(f"{name} ")]
    return float(line.split()[1])


def test_run_starts_its_database_again_after_five_immediate_stops_and_five_kills(
    data_dir: Path,
) -> None:
    app = start_and_check(data_dir)
    try:
        connection_url = socket_url(data_dir)

        async def add_targets() -> None:
            connection = await asyncpg.connect(libpq_url(connection_url))
            try:
                # The API's own port: 20 TCP checks a second keep the worker at the database.
                spec = TargetSpec(kind="tcp", host="127.0.0.1", port=app.api_port)
                await insert_targets(connection, [spec] * 20)
            finally:
                await connection.close()

        asyncio.run(add_targets())
        children = {p.pid for p in app.descendants() if p.name() != "postgres"}
        assert len(children) == 2, app.output  # the API and the worker

        seen: list[float] = []  # outages the worker met, per death of the server
        for number, how in enumerate(OUTAGES, start=1):
            outages = worker_metric(app, "uptime_worker_database_outages_total")
            before = postmaster_pid(data_dir)
            take_down(data_dir, how)
            returned_at = asyncio.run(back_since(connection_url, within=30))
            assert returned_at is not None, f"outage {number} ({how}): not back\n{app.output}"
            assert postmaster_pid(data_dir) != before
            recorded = asyncio.run(recording_again(connection_url, returned_at))
            assert recorded, f"outage {number} ({how}): not recording again\n{app.output}"
            deadline = time.monotonic() + 10
            while worker_metric(app, "uptime_worker_database_up") != 1:
                assert time.monotonic() < deadline, app.output
                time.sleep(0.05)
            seen.append(worker_metric(app, "uptime_worker_database_outages_total") - outages)
            assert seen[-1] in (0, 1), f"outage {number}: the worker counted {seen[-1]}"
            assert app.process.poll() is None, app.output
            still = {p.pid for p in app.descendants() if p.name() != "postgres"}
            assert still == children, f"the API or the worker was restarted\n{app.output}"

        wait_for_http(f"{app.base}/readyz", timeout=10)
        output = app.stop(signal.SIGTERM)
    except BaseException:
        app.kill()
        raise
    assert output.count("the embedded PostgreSQL stopped unexpectedly") == len(OUTAGES), output
    assert output.count("the embedded PostgreSQL is back after") == len(OUTAGES), output
    # The worker logged each outage it met once when it began and once when it ended. (Which
    # ones it met depends on timing: one with no statement in flight while the server was
    # down is none; test_database_outage.py holds the server down until both workers met it.)
    met = sum(seen)
    assert met >= 1, output
    assert output.count(OUTAGE_STARTS) == met, (seen, output)
    assert output.count(OUTAGE_ENDS) == met, (seen, output)
    # The API's listener for live events loses its connection at every death of the server:
    # one warning for each, not one per reconnect try while the server is down.
    live_warnings = output.count("live events: the listening connection closed") + output.count(
        "live events: cannot listen"
    )
    assert 1 <= live_warnings <= len(OUTAGES), output
    assert "Traceback" not in output, output
    assert "Failed to restore the pool connection" not in output, output
    assert "exited with code" not in output, output
    assert live_postgres_processes(data_dir / "postgres") == [], output


def worker_child(app: RunningUptime) -> int | None:
    """The pid of `uptime run`'s live worker child, if any."""
    for child in app.family.children():
        try:
            if child.status() != psutil.STATUS_ZOMBIE and "worker" in child.cmdline():
                return child.pid
        except psutil.Error:
            continue  # exited meanwhile
    return None


def test_run_starts_a_child_again_that_died(data_dir: Path) -> None:
    app = start_and_check(data_dir)
    try:
        killed = worker_child(app)
        assert killed is not None, app.output
        os.kill(killed, signal.SIGKILL)  # as the kernel's OOM killer would
        # Started again by the supervisor (after 1 s), which keeps the API and the database.
        deadline = time.monotonic() + 20
        while worker_child(app) in (None, killed):
            assert time.monotonic() < deadline, app.output
            time.sleep(0.05)
        wait_for_http(f"http://127.0.0.1:{app.worker_port}/readyz", timeout=30)
        assert app.process.poll() is None, app.output
        wait_for_http(f"{app.base}/readyz", timeout=5)
        output = app.stop(signal.SIGTERM)
    except BaseException:
        app.kill()
        raise
    assert "the worker process exited with code -9; starting it again in 1 s" in output, output
    assert "started the worker process again" in output, output
    assert live_postgres_processes(data_dir / "postgres") == [], output


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


def _pid_namespaces_work() -> bool:
    # The embedded server runs as its own user when we are root: that needs the real root,
    # not one mapped in a user namespace.
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        return False
    return subprocess.run([*AS_PID_1, "true"], capture_output=True, check=False).returncode == 0


def zombies(process: psutil.Process) -> list[psutil.Process]:
    found = []
    for child in process.children():
        with contextlib.suppress(psutil.NoSuchProcess):
            if child.status() == psutil.STATUS_ZOMBIE:
                found.append(child)
    return found


@pytest.mark.skipif(not _pid_namespaces_work(), reason="needs root and PID namespaces")
def test_run_as_pid_1_starts_its_killed_database_again_and_leaves_no_zombie(
    data_dir: Path,
) -> None:
    # PID 1 inherits the killed postmaster's backends (and the postmaster itself, which pg_ctl
    # leaves behind). Uncollected, they stay zombies, and the zombie postmaster's pid in
    # postmaster.pid makes a new postmaster refuse to start.
    app = start_and_check(data_dir, wrapper=AS_PID_1)
    try:
        [init] = app.family.children()  # `uptime run`, PID 1 inside
        [postmaster] = [p for p in init.children() if p.name() == "postgres"]
        postmaster.kill()
        deadline = time.monotonic() + 30
        while "the embedded PostgreSQL is back after" not in app.output:
            assert time.monotonic() < deadline, app.output
            time.sleep(0.05)
        # Its backends notice the postmaster's death on their own and exit within moments.
        deadline = time.monotonic() + 10
        while left := zombies(init):
            assert time.monotonic() < deadline, f"zombies left: {left}; {app.output}"
            time.sleep(0.05)
        [restarted] = [p for p in init.children() if p.name() == "postgres"]
        assert restarted.pid != postmaster.pid
        wait_for_http(f"{app.base}/readyz", timeout=30)
        init.send_signal(signal.SIGTERM)
        assert app.process.wait(timeout=60) == 0, app.output
    except BaseException:
        app.kill()
        raise
    assert live_postgres_processes(data_dir / "postgres") == [], app.output


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
