"""The ``uptime`` console script's first module: stop signals work from its first instruction.

In a container ``uptime`` is PID 1, and the kernel drops a signal sent to PID 1 whose action is
the default one: until a handler is installed, SIGTERM does nothing (``docker compose down``
then waits out the whole grace period). So the handlers go in first, here, before anything
heavy is imported (``uptime_core.cli`` pulls in asyncpg, pydantic, SQLAlchemy); this module
imports only what the interpreter has already loaded. A stop that arrives before a command has
taken over the signals (the worker's event loop, uvicorn) unwinds whatever was started, with
the ``finally`` blocks that stop it, and the process exits 0. No init process (tini) is needed
in front of it.
"""

from __future__ import annotations

import signal
from types import FrameType

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class Shutdown(BaseException):
    """SIGTERM or SIGINT arrived: unwind, stopping what was started."""


def raise_shutdown(signum: int, _frame: FrameType | None) -> None:
    """The handler of the stop signals until a command installs a graceful one."""
    raise Shutdown(signal.Signals(signum).name)


def install_stop_handlers() -> None:
    """Make SIGTERM and SIGINT raise ``Shutdown`` in the main thread."""
    for signum in STOP_SIGNALS:
        signal.signal(signum, raise_shutdown)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``uptime`` console script."""
    install_stop_handlers()
    try:
        from uptime_core.cli import main as cli_main

        return cli_main(argv)
    except Shutdown:
        # Stopped while the program was still being imported: nothing was started yet.
        return 0
