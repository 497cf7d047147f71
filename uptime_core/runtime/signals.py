"""Stop signals: what every process of ``uptime`` treats as "stop now, cleanly".

In a container ``uptime`` is PID 1, and the kernel drops a signal sent to PID 1 whose action is
the default one: until a handler is installed, SIGTERM does nothing. ``uptime_cli.entry``
installs ``raise_shutdown`` first thing; the worker and uvicorn replace it with their graceful
handlers once they run. This module imports only what the interpreter has already loaded.
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
