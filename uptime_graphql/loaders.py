"""DataLoaders: one statement per field per request, however many objects ask for it."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg
from strawberry.dataloader import DataLoader

from uptime_core.stats import Uptime, UptimeWindow, uptime_for_targets
from uptime_core.targets import CheckRow, TargetRow, latest_checks, recent_checks, targets_by_id

UptimeKey = tuple[int, UptimeWindow]
ChecksKey = tuple[int, int]  # target id, page size
ChecksPage = tuple[list[CheckRow], bool]


class Loaders:
    """The loaders of one request (they cache, so they must not outlive it)."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self.target = DataLoader(self._targets)
        self.last_check = DataLoader(self._last_checks)
        self.uptime = DataLoader(self._uptimes)
        self.first_checks = DataLoader(self._first_checks)

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
