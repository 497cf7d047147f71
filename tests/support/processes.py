"""Program processes for tests, started as they are in production."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from tests.support.net import free_port, wait_for_http


class WorkerProcess:
    """One `uptime worker` subprocess; its output goes to a file the test can read."""

    def __init__(self, database_url: str, worker_id: str, **settings: str) -> None:
        self.worker_id = worker_id
        self.health_port = free_port()
        self.log_path = Path(tempfile.mkstemp(prefix=f"worker-{worker_id}-", suffix=".log")[1])
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "UPTIME_WORKER_ID": worker_id,
            "UPTIME_WORKER_HEALTH_PORT": str(self.health_port),
            **{f"UPTIME_{key.upper()}": value for key, value in settings.items()},
        }
        with self.log_path.open("w") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "uptime_cli", "worker"],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    @property
    def health(self) -> str:
        return f"http://127.0.0.1:{self.health_port}"

    @property
    def output(self) -> str:
        return self.log_path.read_text()

    async def ready(self) -> None:
        await asyncio.to_thread(wait_for_http, f"{self.health}/readyz", timeout=30)

    async def stop(self, signum: int = signal.SIGTERM) -> int:
        """Signal the worker and wait (at most 30 s) for its exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signum)
        return await asyncio.to_thread(self.process.wait, 30)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


StartWorker = Callable[..., WorkerProcess]
