"""What the `uptime run` tests share: the program started as `make run` starts it, checked
ready, and the embedded PostgreSQL's processes and socket."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import asyncpg
import httpx
import psutil

from tests.support.net import free_port, wait_for_http
from uptime_core.runtime.db import libpq_url


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
