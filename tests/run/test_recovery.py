"""`uptime run` starts again what dies: its database (ten times, also as PID 1, leaving no
zombie) and a child, while the API and the worker keep running."""

from __future__ import annotations

import asyncio
import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import psutil
import pytest

from tests.run.support import (
    RunningUptime,
    live_postgres_processes,
    socket_url,
    sql,
    start_and_check,
)
from tests.support.net import wait_for_http
from tests.support.targets import TargetSpec, insert_targets
from tests.support.wait import poll_until
from uptime_core.runtime.db import libpq_url
from uptime_core.runtime.embedded import SYSTEM_USER, binaries_dir

pytestmark = pytest.mark.slow  # starts `uptime run` (see tests/conftest.py)


# `uptime run` as PID 1 of a PID namespace of its own, with its own /proc, as in a container.
AS_PID_1 = ("unshare", "--pid", "--fork", "--mount-proc", "--kill-child")


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
