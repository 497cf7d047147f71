"""The time bound of one check: `asyncio.timeout` semantics at a fraction of its cost."""

from __future__ import annotations

import asyncio


class Deadline:
    """Cancel the current task once `seconds` have passed, as `asyncio.timeout` would.

    `asyncio.timeout` (a context manager, a state machine, a reschedulable timer) cost a TCP
    check about 5 µs of CPU, a third of the whole overhead `bench/probes.py` measures; this
    keeps only what a check needs, for about half that: one loop timer, and the bookkeeping
    that tells its own cancellation apart from anybody else's.
    """

    __slots__ = ("_cancelling", "_expired", "_handle", "_task")

    def __init__(self, seconds: float) -> None:
        loop = asyncio.get_running_loop()
        task = asyncio.current_task(loop)
        if task is None:
            raise RuntimeError("a Deadline must be set inside a task")
        self._task = task
        self._cancelling = task.cancelling()
        self._expired = False
        self._handle = loop.call_at(loop.time() + seconds, self._expire)

    def _expire(self) -> None:
        self._expired = True
        self._task.cancel()

    def stop(self) -> bool:
        """Stop the timer. True when it had fired and no other cancellation is pending: the
        `CancelledError` in flight is then ours, and the check has run out of time."""
        self._handle.cancel()
        if not self._expired:
            return False
        self._expired = False  # undo our cancel() once, however often stop() is called
        return self._task.uncancel() <= self._cancelling
