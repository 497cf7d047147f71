"""Latency series on a history the test builds: every point equals the uptime of its range."""

from __future__ import annotations

import itertools
import random
from datetime import datetime, timedelta

import asyncpg
import pytest

from tests.support.targets import TargetSpec, insert_targets, record_history
from uptime_core.enums import UptimeWindow
from uptime_core.stats.rollups import rebuild_rollups
from uptime_core.stats.series import SHAPES, LatencyPoint, latency_series
from uptime_core.stats.uptime import Range, uptime_for_window


async def history_target(db: asyncpg.Connection) -> tuple[int, datetime]:
    """A target with 40 days of history: a check every 2 hours, every 20 s in the last
    50 minutes (log-normal latencies, some failures), one minute with a latency of exactly
    20 ms and one empty minute. Returns the id and the database's ``now()``."""
    [target_id] = await insert_targets(
        db, [TargetSpec(kind="tcp", host="127.0.0.1", port=9, interval_seconds=20)]
    )
    await db.execute(
        "UPDATE target SET created_at = now() - interval '60 days' WHERE id = $1", target_id
    )
    now: datetime = await db.fetchval("SELECT now()")
    rng = random.Random(7)

    def check(slot: datetime) -> tuple[datetime, str, float | None]:
        if rng.random() < 0.1:
            return slot, "down", None
        return slot, "up", rng.lognormvariate(3.5, 0.6)

    sparse = [check(now - timedelta(days=40) + n * timedelta(hours=2)) for n in range(475)]
    recent = [check(now - timedelta(minutes=50) + n * timedelta(seconds=20)) for n in range(148)]
    minute = now.replace(second=0, microsecond=0)
    exact_minute, empty_minute = minute - timedelta(minutes=20), minute - timedelta(minutes=30)
    recent = [
        (slot, "up", 20.0) if exact_minute <= slot < exact_minute + timedelta(minutes=1) else c
        for c in recent
        for slot in [c[0]]
        if not empty_minute <= slot < empty_minute + timedelta(minutes=1)
    ]
    await record_history(db, target_id, [c for c in sparse + recent if c[0] < now])
    # Some recent checks fell in a maintenance window: neither up nor down, no latency.
    await db.execute(
        "UPDATE check_result SET in_maintenance = true WHERE target_id = $1 "
        "AND scheduled_for BETWEEN $2 AND $3",
        target_id,
        now - timedelta(minutes=12, seconds=30),
        now - timedelta(minutes=10),
    )
    # The rollups as the record statement would have written them for those checks.
    await rebuild_rollups(db, now - timedelta(days=41))
    return target_id, now


def assert_contiguous(points: list[LatencyPoint], window: UptimeWindow, now: datetime) -> None:
    width = SHAPES[window].width
    assert points, window
    assert points[0].start <= now - window.value < points[0].start + width
    assert points[-1].start <= now < points[-1].start + width
    for before, after in itertools.pairwise(points):
        assert after.start - before.start == width


@pytest.mark.parametrize("window", list(UptimeWindow))
async def test_each_point_equals_the_uptime_of_its_range(
    db: asyncpg.Connection, window: UptimeWindow
) -> None:
    target_id, _ = await history_target(db)
    points = await latency_series(db, target_id, window)
    now: datetime = await db.fetchval("SELECT now()")
    assert_contiguous(points, window, now)
    width = SHAPES[window].width
    with_data = 0
    for point in points:
        expected = await uptime_for_window(db, target_id, Range(point.start, point.start + width))
        assert expected is not None
        assert (point.checks, point.failures) == (expected.checks, expected.failures), point
        if expected.latency is None:
            assert point.p50_ms is None and point.p95_ms is None, point
            continue
        with_data += 1
        assert point.p50_ms == pytest.approx(expected.latency.p50_ms, rel=1e-9), point
        assert point.p95_ms == pytest.approx(expected.latency.p95_ms, rel=1e-9), point
        assert expected.latency.min_ms <= point.p50_ms <= point.p95_ms <= expected.latency.max_ms
    assert with_data >= 2, "the history reaches into at least two points of every window"


async def test_a_known_minute_an_empty_minute_and_the_totals(db: asyncpg.Connection) -> None:
    target_id, now = await history_target(db)
    points = {p.start: p for p in await latency_series(db, target_id, UptimeWindow.LAST_HOUR)}
    minute = now.replace(second=0, microsecond=0)
    exact = points[minute - timedelta(minutes=20)]
    assert exact.checks == 3 and exact.failures == 0
    assert exact.p50_ms == exact.p95_ms == 20.0  # one latency: clamped to min and max
    empty = points[minute - timedelta(minutes=30)]
    assert (empty.checks, empty.failures, empty.p50_ms, empty.p95_ms) == (0, 0, None, None)

    # Over 90 days (daily rollups) the points add up to everything recorded in them, but for
    # the checks inside the maintenance window.
    daily = await latency_series(db, target_id, UptimeWindow.LAST_90_DAYS)
    recorded = await db.fetchval(
        "SELECT count(*) FROM check_result WHERE target_id = $1 AND scheduled_for >= $2 "
        "AND NOT in_maintenance",
        target_id,
        daily[0].start,
    )
    assert sum(p.checks for p in daily) == recorded > 0


async def test_another_targets_history_does_not_leak_in(db: asyncpg.Connection) -> None:
    target_id, _ = await history_target(db)
    [quiet] = await insert_targets(db, [TargetSpec(kind="tcp", host="127.0.0.1", port=9)])
    for window in UptimeWindow:
        points = await latency_series(db, quiet, window)
        assert points and all(p.checks == 0 and p.p95_ms is None for p in points), window
    assert any(p.checks for p in await latency_series(db, target_id, UptimeWindow.LAST_HOUR))
