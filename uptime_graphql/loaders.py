"""DataLoaders: one statement per field per request, however many objects ask for it."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg
from strawberry.dataloader import DataLoader

from uptime_core.stats import Uptime, UptimeWindow, uptime_for_targets
from uptime_core.targets import CheckRow, TargetRow, latest_checks, targets_by_id

UptimeKey = tuple[int, UptimeWindow]


class Loaders:
    """The loaders of one request (they cache, so they must not outlive it)."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self.target = DataLoader(self._targets)
        self.last_check = DataLoader(self._last_checks)
        self.uptime = DataLoader(self._uptimes)

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
