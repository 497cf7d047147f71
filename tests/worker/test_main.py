"""The worker process: starts, connects, serves health, stops cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys

import pytest

from tests.support.net import free_port, wait_for_http


def start_worker(database_url: str, port: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "uptime_core.cli", "worker"],
        env={**os.environ, "DATABASE_URL": database_url, "UPTIME_WORKER_HEALTH_PORT": str(port)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
async def test_worker_serves_health_and_stops_on_signal(database_url: str, signum: int) -> None:
    port = free_port()
    worker = start_worker(database_url, port)
    try:
        await asyncio.to_thread(wait_for_http, f"http://127.0.0.1:{port}/healthz", timeout=30)
        ready = await asyncio.to_thread(
            wait_for_http, f"http://127.0.0.1:{port}/readyz", timeout=30
        )
        assert ready.json() == {"status": "ready"}
        worker.send_signal(signum)
        output, _ = await asyncio.to_thread(worker.communicate, timeout=20)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.communicate()
    assert worker.returncode == 0, output
    assert "connected to the database" in output
    assert "stopped" in output
    assert "Traceback" not in output


async def test_worker_readyz_reports_an_unmigrated_database(empty_database_url: str) -> None:
    port = free_port()
    worker = start_worker(empty_database_url, port)
    try:
        answer = await asyncio.to_thread(
            wait_for_http, f"http://127.0.0.1:{port}/readyz", timeout=30, expect=503
        )
        assert "uptime migrate" in answer.json()["reason"]
    finally:
        worker.terminate()
        await asyncio.to_thread(worker.communicate, timeout=20)
    assert worker.returncode == 0
