"""Fan-out: subscribers' bounded queues, the batch groups of checksCompleted, and the one
``Check`` per fanned-out row (the identity contract: see the package docstring)."""

from __future__ import annotations

import asyncio
import math
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from uptime_core.history import CheckRow
from uptime_graphql.types.check import Check

QUEUE_SIZE = 256
# A batch subscription (checksCompleted) holds at most this many undelivered checks; when a
# slow subscriber is further behind, its oldest checks go.
BATCH_LIMIT = 5000
# How many batches a subscriber of one batch group may have waiting before the oldest go (it
# merges what waits into one message, so this bounds memory, not what it may be sent).
BATCH_QUEUE_SIZE = 16
# How many recent rows keep their Check in ``shared_check``.
RECENT_CHECKS = 4096
T = TypeVar("T")
B = TypeVar("B")


@dataclass(eq=False)
class Subscriber(Generic[T]):
    """One subscription's queue; ``wants`` picks its events. Every subscriber is offered the
    same event object."""

    wants: Callable[[T], bool]
    queue: asyncio.Queue[T] = field(default_factory=lambda: asyncio.Queue(QUEUE_SIZE))
    dropped: int = 0

    def offer(self, event: T) -> None:
        if not self.wants(event):
            return
        if self.queue.full():
            self.queue.get_nowait()  # the stalest event goes
            self.dropped += 1
        self.queue.put_nowait(event)


class BatchGroup(Generic[B]):
    """The subscribers of checksCompleted with the same targets and the same delay.

    The group reads the fan-out once and cuts it into batches: the first check after a quiet
    period goes at once, later ones wait until ``delay`` has passed since the previous batch.
    Every member is handed the same batch object, so that the shared execution
    (``shared_execution.ExecutionContext``) runs their selection once per batch."""

    def __init__(
        self,
        target_ids: frozenset[int] | None,
        delay: float,
        convert: Callable[[list[CheckRow]], B],
    ) -> None:
        self.target_ids = target_ids
        self.delay = delay
        self.convert = convert
        self.members: set[Subscriber[B]] = set()
        # Registered with the fan-out at once (not when the task first runs): no check
        # recorded after a member joined is missed.
        self.rows: Subscriber[CheckRow] = Subscriber(lambda _row: True, asyncio.Queue(BATCH_LIMIT))
        self.task: asyncio.Task[None] | None = None

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        queue = self.rows.queue
        last = -math.inf
        while True:
            first = await queue.get()
            wait = last + self.delay - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            rows = [first]
            while not queue.empty():
                rows.append(queue.get_nowait())
            last = loop.time()
            batch = self.convert(rows)
            for member in list(self.members):
                member.offer(batch)


# The Check made of each recent row, by the row's identity. Holding the row keeps its id from
# being reused while it is here.
_checks: OrderedDict[int, tuple[CheckRow, Check]] = OrderedDict()


def shared_check(row: CheckRow) -> Check:
    """The one Check for this (recently fanned-out) row: every subscriber of checkCompleted is
    handed the same object for the same check, as the shared execution keys on its identity."""
    known = _checks.get(id(row))
    if known is not None and known[0] is row:
        return known[1]
    check = Check.from_row(row)
    _checks[id(row)] = (row, check)
    if len(_checks) > RECENT_CHECKS:
        _checks.popitem(last=False)
    return check


def checks_of(rows: list[CheckRow]) -> list[Check]:
    """A batch group's conversion: one list of Checks per batch, handed to every member."""
    return [Check.from_row(row) for row in rows]
