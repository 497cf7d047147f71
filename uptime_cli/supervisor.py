"""``uptime run``'s children: the API and a worker, started again when they exit, and the
embedded PostgreSQL, started again when it stops. As PID 1 (a container's init) it also collects
the orphans it inherits."""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass

from uptime_core.runtime.embedded import EmbeddedPostgres

log = logging.getLogger("uptime")


def _die_with_parent() -> None:
    # If `uptime run` itself is killed (SIGKILL), its children get SIGTERM instead of living on.
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


# A child that exits on its own is started again after this long, doubling up to the maximum
# while it keeps failing; one that ran this long counts as healthy again.
RESTART_FIRST_WAIT_SECONDS = 1.0
RESTART_MAX_WAIT_SECONDS = 30.0
HEALTHY_AFTER_SECONDS = 60.0
SUPERVISE_POLL_SECONDS = 0.2


@dataclass
class Child:
    """``uptime api`` or ``uptime worker`` under ``uptime run``, started again if it exits
    (first started by ``start``)."""

    name: str
    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    failures: int = 0
    restart_at: float | None = None

    def start(self) -> None:
        # A session of their own: a terminal's Ctrl-C reaches only this process, which then
        # stops the children in order (API and worker first, the database last). Through the
        # entry module, so a child honours SIGTERM from its first instruction too.
        self.process = subprocess.Popen(
            [sys.executable, "-m", "uptime_cli", self.name],
            env=self.env,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )
        self.started_at = time.monotonic()
        self.restart_at = None

    def check(self) -> bool:
        """Start the child again if it exited (after a backoff); False if it must not be."""
        assert self.process is not None, "started before it is supervised"
        code = self.process.poll()
        now = time.monotonic()
        if code is None:
            if self.failures and now - self.started_at > HEALTHY_AFTER_SECONDS:
                self.failures = 0
            return True
        if code == 2:
            # A configuration error: starting it again cannot help.
            log.error("the %s process exited with code 2; stopping everything", self.name)
            return False
        if self.restart_at is None:
            wait = min(RESTART_FIRST_WAIT_SECONDS * 2**self.failures, RESTART_MAX_WAIT_SECONDS)
            self.failures += 1
            self.restart_at = now + wait
            log.error(
                "the %s process exited with code %d; starting it again in %.0f s",
                self.name,
                code,
                wait,
            )
        elif now >= self.restart_at:
            self.start()
            log.info("started the %s process again", self.name)
        return True


def supervise(children: list[Child], server: EmbeddedPostgres | None) -> int:
    """Keep the children and the embedded PostgreSQL running until a signal (``Shutdown``)."""
    while True:
        if os.getpid() == 1:
            _reap_orphans(children)
        if server is not None and not server.is_running():
            # The children keep running and reconnect once it is back (their outage handling).
            log.warning("the embedded PostgreSQL stopped unexpectedly; starting it again")
            started = time.monotonic()
            server.restart()
            log.info("the embedded PostgreSQL is back after %.1f s", time.monotonic() - started)
        for child in children:
            if not child.check():
                return 1
        time.sleep(SUPERVISE_POLL_SECONDS)


def _reap_orphans(children: list[Child]) -> None:
    """As PID 1 (a container's init) we inherit every orphan: the embedded postmaster (pg_ctl
    leaves it behind) and, once it dies, its backends. Collect those that exited, or they stay
    zombies, and a zombie postmaster's pid in postmaster.pid stops a new one from starting.
    Our own children's exit status is left to their Popen (``check`` reads it)."""
    own = {child.process.pid: child.process for child in children if child.process is not None}
    while True:
        try:
            # WNOWAIT: look at an exited child without collecting it.
            exited = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return  # no children at all
        if exited is None:
            return
        process = own.pop(exited.si_pid, None)
        if process is not None:
            process.poll()  # collects it and keeps its exit code
        else:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(exited.si_pid, 0)


def stop_children(children: list[Child], grace: float) -> None:
    # Late signals must not interrupt the orderly stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    started = [(child.name, child.process) for child in children if child.process is not None]
    for _, process in started:
        if process.poll() is None:
            process.terminate()
    deadline = time.monotonic() + grace
    for name, process in started:
        try:
            process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            log.warning("the %s process did not stop within %.0f s; killing it", name, grace)
            process.kill()
            process.wait()
