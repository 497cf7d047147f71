"""`uptime run|api|worker --host/--port/--health-port` (issue 17), through real processes: a flag
overrides its variable (and reaches `uptime run`'s API child), and a busy port is one line
naming the flag and the variable, exit code 1, before anything starts."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.net import free_port, wait_for_http

pytestmark = pytest.mark.slow  # starts `uptime` processes (see tests/conftest.py)


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A port on 127.0.0.1 that a socket of ours listens on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


def environment(tmp_path: Path, **variables: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("UPTIME_")}
    env.pop("DATABASE_URL", None)
    env["UPTIME_DATA_DIR"] = str(tmp_path / "data")
    env.update(variables)
    return env


def uptime(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "uptime_cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


class Serving:
    """An `uptime` command left running, its output in a file; stopped by SIGTERM."""

    def __init__(self, log_path: Path, *args: str, env: dict[str, str]) -> None:
        self.log_path = log_path
        with log_path.open("w") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "uptime_cli", *args],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()


@pytest.mark.parametrize("command", ["api", "run"])
def test_a_busy_port_is_one_line_naming_the_flag_and_the_variable(
    command: str, busy_port: int, tmp_path: Path
) -> None:
    # No DATABASE_URL: `uptime run` would start the embedded PostgreSQL; `uptime api` gets one
    # that is never reached, because the port is checked first.
    env = environment(tmp_path)
    if command == "api":
        env["DATABASE_URL"] = "postgresql://uptime@127.0.0.1:9/uptime"

    result = uptime(command, "--port", str(busy_port), env=env)

    assert result.returncode == 1, result.stderr
    assert result.stderr == (
        f"uptime: error: port {busy_port} on 127.0.0.1 is already in use; choose another "
        "with --port or UPTIME_API_PORT\n"
    )
    assert result.stdout == ""
    # Nothing was started: no embedded database was made.
    assert not (tmp_path / "data").exists()


def test_a_busy_health_port_names_health_port(busy_port: int, tmp_path: Path) -> None:
    env = environment(tmp_path, DATABASE_URL="postgresql://uptime@127.0.0.1:9/uptime")
    env["UPTIME_WORKER_HEALTH_PORT"] = str(busy_port)  # the variable, not the flag, this time

    result = uptime("worker", env=env)

    assert result.returncode == 1, result.stderr
    assert result.stderr == (
        f"uptime: error: port {busy_port} on 127.0.0.1 is already in use; choose another "
        "with --health-port or UPTIME_WORKER_HEALTH_PORT\n"
    )


def test_api_port_flag_overrides_the_variable(
    database_url: str, busy_port: int, tmp_path: Path
) -> None:
    port = free_port()
    env = environment(tmp_path, DATABASE_URL=database_url, UPTIME_API_PORT=str(busy_port))
    api = Serving(tmp_path / "api.log", "api", "--host", "127.0.0.1", "--port", str(port), env=env)
    try:
        wait_for_http(f"http://127.0.0.1:{port}/readyz", timeout=60)
    finally:
        assert api.stop() == 0, api.log_path.read_text()


def test_worker_health_port_flag_overrides_the_variable(
    database_url: str, busy_port: int, tmp_path: Path
) -> None:
    port = free_port()
    env = environment(tmp_path, DATABASE_URL=database_url, UPTIME_WORKER_HEALTH_PORT=str(busy_port))
    worker = Serving(tmp_path / "worker.log", "worker", "--health-port", str(port), env=env)
    try:
        wait_for_http(f"http://127.0.0.1:{port}/healthz", timeout=60)
    finally:
        assert worker.stop() == 0, worker.log_path.read_text()


def test_run_port_flag_reaches_its_api_child(database_url: str, tmp_path: Path) -> None:
    port = free_port()
    env = environment(
        tmp_path,
        DATABASE_URL=database_url,
        UPTIME_API_PORT=str(free_port()),
        UPTIME_WORKER_HEALTH_PORT=str(free_port()),
    )
    run = Serving(tmp_path / "run.log", "run", "--port", str(port), env=env)
    try:
        answer = wait_for_http(f"http://127.0.0.1:{port}/readyz", timeout=60)
        assert answer.json() == {"status": "ready"}
    finally:
        assert run.stop() == 0, run.log_path.read_text()
    assert f"serving http://127.0.0.1:{port}" in run.log_path.read_text()
