"""The ``uptime`` console script's first module: stop signals work from its first instruction.

In a container ``uptime`` is PID 1, and the kernel drops a signal sent to PID 1 whose action is
the default one: until a handler is installed, SIGTERM does nothing (``docker compose down``
then waits out the whole grace period). So the handlers go in first, here, before anything
heavy is imported (``uptime_cli.commands`` pulls in asyncpg, pydantic, SQLAlchemy); this module
imports only ``uptime_core.runtime.signals``, which imports what the interpreter has already
loaded. A stop that arrives before a command has taken over the signals (the worker's event
loop, uvicorn) unwinds whatever was started, with the ``finally`` blocks that stop it, and the
process exits 0. No init process (tini) is needed in front of it.
"""

from __future__ import annotations

from uptime_core.runtime.signals import Shutdown, install_stop_handlers


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``uptime`` console script."""
    install_stop_handlers()
    try:
        from uptime_cli.commands import main as commands_main

        return commands_main(argv)
    except Shutdown:
        # Stopped while the program was still being imported: nothing was started yet.
        return 0
