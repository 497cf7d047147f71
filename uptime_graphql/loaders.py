"""DataLoaders: one statement per field per request, however many objects ask for it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Hashable, Sequence
from typing import TypeVar

import asyncpg
from strawberry.dataloader import DataLoader

from uptime_core.enums import UptimeWindow
from uptime_core.history import CheckRow, latest_checks, recent_checks
from uptime_core.stats.uptime import Uptime, Window, uptime_for_targets
from uptime_core.targets import TargetRow, targets_by_id

UptimeKey = tuple[int, UptimeWindow]
ChecksKey = tuple[int, int]  # target id, page size
ChecksPage = tuple[list[CheckRow], bool]
K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


def loaded(loader: DataLoader[K, V], key: K) -> tuple[bool, V | None]:
    """(True, value) when ``loader`` already holds the answer for ``key`` (primed or loaded),
    so a resolver can return it at once instead of an awaitable; (False, None) otherwise."""
    future = loader.cache_map.get(key)
    if future is None or not future.done() or future.cancelled() or future.exception():
        return False, None
    return True, future.result()


# A subscription's loaders live as long as its connection; what they hold is used for at most
# this long after it was read (Loaders.refresh), so events never carry older data.
EVENT_CACHE_SECONDS = 1.0


class Loaders:
    """The loaders of one request or one subscription connection (they cache: see refresh)."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self.target = DataLoader(self._targets)
        self.last_check = DataLoader(self._last_checks)
        self.uptime = DataLoader(self._uptimes)
        self.first_checks = DataLoader(self._first_checks)
        self.cleared_at = time.monotonic()

    def refresh(self, max_age: float = EVENT_CACHE_SECONDS) -> None:
        """Forget what was read ``max_age`` or longer ago: subscriptions call this before each
        event, so one connection's events do not show a target as it was when it opened."""
        now = time.monotonic()
        if now - self.cleared_at >= max_age:
            for loader in (self.target, self.last_check, self.uptime, self.first_checks):
                loader.clear_all()
            self.cleared_at = now

    async def prefetch(
        self, ids: list[int], *, last_check: bool, windows: list[UptimeWindow]
    ) -> None:
        """Load what a page asks of each of its targets (the last check, uptime over some
        windows) for all of them at once, before their fields resolve. Resolving thousands
        of fields from values at hand, rather than one awaitable each, is what keeps a
        dashboard's answer cheap (bench/api.py)."""

        async def last_checks() -> None:
            found = await latest_checks(self.pool, ids)
            self.last_check.prime_many({i: found.get(i) for i in ids})

        async def uptimes() -> None:
            asked: list[Window] = list(windows)
            answers = await uptime_for_targets(self.pool, ids, asked)
            self.uptime.prime_many(
                {
                    (target_id, window): answer[n]
                    for target_id, answer in answers.items()
                    for n, window in enumerate(windows)
                }
            )

        wanted = ([last_checks()] if last_check else []) + ([uptimes()] if windows else [])
        if ids and wanted:
            await asyncio.gather(*wanted)

    async def _targets(self, ids: Sequence[int]) -> list[TargetRow | None]:
        found = await targets_by_id(self.pool, list(ids))
        return [found.get(i) for i in ids]

    async def _last_checks(self, ids: Sequence[int]) -> list[CheckRow | None]:
        found = await latest_checks(self.pool, list(ids))
        return [found.get(i) for i in ids]

    async def _uptimes(self, keys: Sequence[UptimeKey]) -> list[Uptime | None]:
        # Every target and window asked for in this request: one statistics query.
        ids = sorted({target_id for target_id, _ in keys})
        windows = sorted({window for _, window in keys}, key=lambda w: w.value)
        answers = await uptime_for_targets(self.pool, ids, list(windows))
        position = {window: n for n, window in enumerate(windows)}
        return [
            answers[target_id][position[window]] if target_id in answers else None
            for target_id, window in keys
        ]

    async def _first_checks(self, keys: Sequence[ChecksKey]) -> list[ChecksPage]:
        # A dashboard's strip of recent checks for every target: one LATERAL query per page
        # size asked for (in practice one), not one query per target.
        pages: dict[ChecksKey, ChecksPage] = {}
        for size in {size for _, size in keys}:
            ids = sorted({target_id for target_id, s in keys if s == size})
            found = await recent_checks(self.pool, ids, first=size)
            pages.update({(target_id, size): page for target_id, page in found.items()})
        return [pages[key] for key in keys]
