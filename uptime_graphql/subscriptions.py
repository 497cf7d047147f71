"""Subscriptions over graphql-transport-ws: the resolvers, fed by ``live.listener.LiveEvents``
(the fan-out and what its subscribers share: ``uptime_graphql.live``)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator

import strawberry

from uptime_core.stats.uptime import uptime_for_window
from uptime_graphql.errors import bad_input
from uptime_graphql.live.fanout import BATCH_LIMIT, checks_of, shared_check
from uptime_graphql.types.check import Check
from uptime_graphql.types.enums import TargetStatus, UptimeWindow
from uptime_graphql.types.node import parse_global_id
from uptime_graphql.types.target import Target, TargetStatusChange
from uptime_graphql.types.uptime import Uptime

# uptimeChanged recomputes at most this often per subscription, however fast checks arrive.
UPTIME_REFRESH_SECONDS = 1.0

# checksCompleted(maxDelayMs): the bounds, and the default.
MIN_DELAY_MS = 50
MAX_DELAY_MS = 5000
DEFAULT_DELAY_MS = 250


def _target_ids(ids: list[strawberry.ID] | None) -> set[int] | None:
    if ids is None:
        return None
    parsed = [parse_global_id(i, "Target") for i in ids]
    if any(p is None for p in parsed):
        raise bad_input("targetIds holds an id that is not a target's")
    return {p[1] for p in parsed if p is not None}


@strawberry.type
class Subscription:
    @strawberry.subscription(description="Every recorded check (of the given targets, or all).")
    async def check_completed(
        self, info: strawberry.Info, target_ids: list[strawberry.ID] | None = None
    ) -> AsyncGenerator[Check, None]:
        wanted = _target_ids(target_ids)
        async with info.context.live.subscribe_checks(wanted) as queue:
            while True:
                check = shared_check(await queue.get())
                info.context.loaders.refresh()
                yield check

    @strawberry.subscription(
        description=(
            "The checks recorded since the previous message (of the given targets, or all), "
            "at most one message per maxDelayMs (50 to 5000): the first as soon as checks "
            "arrive after a quiet period. For views of many targets (dashboards): one message "
            "carries many checks. A subscriber that falls behind loses its oldest checks."
        )
    )
    async def checks_completed(
        self,
        info: strawberry.Info,
        target_ids: list[strawberry.ID] | None = None,
        max_delay_ms: int = DEFAULT_DELAY_MS,
    ) -> AsyncGenerator[list[Check], None]:
        if not MIN_DELAY_MS <= max_delay_ms <= MAX_DELAY_MS:
            raise bad_input(
                f"maxDelayMs must be between {MIN_DELAY_MS} and {MAX_DELAY_MS} (got {max_delay_ms})"
            )
        wanted = _target_ids(target_ids)
        live = info.context.live
        # The group cuts the batches, at most one per delay; each is passed on at once (a
        # subscriber that waited for its own last send would fall further behind the group
        # each time it was served late in the fan-out). One that is behind sends what waits
        # in one message: never more messages than the group cut batches.
        async with live.subscribe_check_batches(wanted, max_delay_ms / 1000, checks_of) as queue:
            while True:
                batch = await queue.get()
                if not queue.empty():  # behind: what waits goes in one message, newest kept
                    merged = list(batch)
                    while not queue.empty():
                        merged.extend(queue.get_nowait())
                    batch = merged[-BATCH_LIMIT:]
                info.context.loaders.refresh()
                yield batch

    @strawberry.subscription(description="Every confirmed change of a target's state.")
    async def target_status_changed(
        self, info: strawberry.Info
    ) -> AsyncGenerator[TargetStatusChange, None]:
        async with info.context.live.subscribe_changes() as queue:
            while True:
                change = await queue.get()
                # The target as it is now, with its new status: never a copy read before.
                info.context.loaders.refresh()
                info.context.loaders.target.clear_all()
                row = await info.context.loaders.target.load(change.target_id)
                if row is None:
                    continue  # deleted meanwhile
                yield TargetStatusChange(
                    target=Target.from_row(row),
                    previous=TargetStatus(change.previous),
                    current=TargetStatus(change.current),
                    at=change.at,
                )

    @strawberry.subscription(description="A target's uptime: the current value, then changes.")
    async def uptime_changed(
        self, info: strawberry.Info, target_id: strawberry.ID, window: UptimeWindow
    ) -> AsyncGenerator[Uptime, None]:
        parsed = parse_global_id(target_id, "Target")
        if parsed is None:
            raise bad_input("targetId is not a target's id")
        pool = info.context.pool
        async with info.context.live.subscribe_checks({parsed[1]}) as queue:
            last = None
            while True:
                answer = await uptime_for_window(pool, parsed[1], window)
                if answer is None:
                    return  # no such target (any more)
                current = Uptime.from_stats(window, answer)
                if current != last:
                    yield current
                    last = current
                await queue.get()
                await asyncio.sleep(UPTIME_REFRESH_SECONDS)
                while not queue.empty():
                    queue.get_nowait()
