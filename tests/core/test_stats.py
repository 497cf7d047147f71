"""Uptime statistics on histories with known outcomes, from raw results and from rollups."""

from __future__ import annotations

import asyncio
import math
import os
import random
import sys
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from tests.support.targets import TargetSpec, insert_targets, record_history
from uptime_core.enums import UptimeWindow
from uptime_core.retention import existing_partitions, manage_partitions
from uptime_core.stats.histogram import HISTOGRAM_BUCKETS, bucket_bounds
from uptime_core.stats.rollups import rebuild_rollups
from uptime_core.stats.uptime import Range, Uptime, Window, uptime_for_targets, uptime_for_window

MINUTE = timedelta(minutes=1)


@pytest.fixture
async def midnight(db: asyncpg.Connection) -> datetime:
    """Today's UTC midnight on the database clock."""
    value: datetime = await db.fetchval("SELECT date_trunc('day', now(), 'UTC')")
    return value


async def new_target(db: asyncpg.Connection, interval_seconds: int = 60) -> int:
    [target_id] = await insert_targets(
        db, [TargetSpec(kind="tcp", host="127.0.0.1", port=9, interval_seconds=interval_seconds)]
    )
    # The history the tests write lies in the past: the target existed then.
    await db.execute(
        "UPDATE target SET created_at = now() - interval '400 days' WHERE id = $1", target_id
    )
    return target_id


def slots(start: datetime, count: int, step: timedelta = MINUTE) -> list[datetime]:
    return [start + n * step for n in range(count)]


async def both(db: asyncpg.Connection, target_id: int, window: Range) -> Uptime:
    """The answer from rollups, after checking the raw-only answer is the same."""
    fast = await uptime_for_window(db, target_id, window)
    raw = await uptime_for_window(db, target_id, window, use_rollups=False)
    assert fast is not None and raw is not None
    assert_same(fast, raw)
    return fast


def assert_same(a: Uptime, b: Uptime) -> None:
    assert (a.start, a.end, a.checks, a.failures, a.ratio, a.coverage) == (
        b.start,
        b.end,
        b.checks,
        b.failures,
        b.ratio,
        b.coverage,
    )
    assert a.downtime_seconds == pytest.approx(b.downtime_seconds)
    if a.latency is None or b.latency is None:
        assert a.latency is b.latency
        return
    for field in ("avg_ms", "min_ms", "max_ms", "p50_ms", "p95_ms", "p99_ms"):
        assert getattr(a.latency, field) == pytest.approx(getattr(b.latency, field), rel=1e-9)


async def test_ratio_is_exact(db: asyncpg.Connection, midnight: datetime) -> None:
    target_id = await new_target(db)
    start = midnight - timedelta(days=2, hours=3)
    times = slots(start, 60)
    down = {times[5], times[6], times[40]}
    await record_history(db, target_id, [(t, "down" if t in down else "up", 20.0) for t in times])

    answer = await both(db, target_id, Range(start, start + timedelta(hours=1)))
    assert (answer.checks, answer.failures) == (60, 3)
    assert answer.ratio == 57 / 60
    assert answer.coverage == 1.0


async def test_degraded_checks_count_as_passing(db: asyncpg.Connection, midnight: datetime) -> None:
    target_id = await new_target(db)
    start = midnight - timedelta(days=1)
    statuses = ["up", "degraded", "down", "degraded"]
    await record_history(
        db, target_id, [(t, s, 5.0) for t, s in zip(slots(start, 4), statuses, strict=True)]
    )
    answer = await both(db, target_id, Range(start, start + 4 * MINUTE))
    assert answer.ratio == 3 / 4


async def test_coverage_counts_the_gaps(db: asyncpg.Connection, midnight: datetime) -> None:
    target_id = await new_target(db)
    start = midnight - timedelta(days=3)
    recorded = [t for n, t in enumerate(slots(start, 120)) if n % 4 != 0]  # every 4th missing
    await record_history(db, target_id, [(t, "up", 10.0) for t in recorded])

    answer = await both(db, target_id, Range(start, start + timedelta(hours=2)))
    assert answer.checks == 90
    assert answer.coverage == 90 / 120
    assert answer.ratio == 1.0, "missing slots are no data, not failures"


async def test_no_data_is_null_not_zero_or_hundred(db: asyncpg.Connection) -> None:
    target_id = await new_target(db)
    [answer] = (await uptime_for_targets(db, [target_id], [UptimeWindow.LAST_30_DAYS]))[target_id]
    assert answer.checks == 0
    assert answer.ratio is None
    assert answer.latency is None
    assert answer.coverage == 0.0
    assert answer.downtime_seconds == 0.0


async def test_downtime_counts_only_the_part_of_incidents_inside_the_window(
    db: asyncpg.Connection, midnight: datetime
) -> None:
    target_id = await new_target(db)
    start = midnight - timedelta(days=2)
    end = start + timedelta(hours=1)
    await db.executemany(
        "INSERT INTO incident (target_id, started_at, resolved_at) VALUES ($1, $2, $3)",
        [
            (target_id, start - timedelta(minutes=30), start + timedelta(minutes=10)),  # 10 min in
            (target_id, start + timedelta(minutes=20), start + timedelta(minutes=25)),  # 5 min
            (target_id, end - timedelta(minutes=15), end + timedelta(hours=2)),  # 15 min in
            (target_id, end + timedelta(minutes=1), None),  # after the window: nothing
        ],
    )
    answer = await both(db, target_id, Range(start, end))
    assert answer.downtime_seconds == (10 + 5 + 15) * 60


async def test_an_open_incident_counts_until_now(db: asyncpg.Connection) -> None:
    target_id = await new_target(db)
    opened = await db.fetchval(
        "INSERT INTO incident (target_id, started_at) VALUES ($1, now() - interval '90 minutes') "
        "RETURNING started_at",
        target_id,
    )
    now = await db.fetchval("SELECT now()")
    [answer] = (await uptime_for_targets(db, [target_id], [UptimeWindow.LAST_HOUR]))[target_id]
    # The window is the last hour, and the incident has covered all of it so far.
    assert answer.downtime_seconds == pytest.approx((answer.end - answer.start).total_seconds())
    assert opened < answer.start <= now


async def test_percentiles_are_within_two_percent_on_a_skewed_distribution(
    db: asyncpg.Connection, midnight: datetime
) -> None:
    target_id = await new_target(db)
    start = midnight - timedelta(days=8)
    rng = random.Random(20261126)
    # Log-normal with a long tail: median about 80 ms, p99 about five times that.
    latencies = [rng.lognormvariate(math.log(80), 0.7) for _ in range(7 * 1440)]
    await record_history(
        db,
        target_id,
        [(t, "up", x) for t, x in zip(slots(start, len(latencies)), latencies, strict=True)],
    )
    window = Range(start, start + timedelta(days=7))
    answer = await both(db, target_id, window)
    assert answer.latency is not None
    exact = sorted(latencies)
    for q, estimate in (
        (0.5, answer.latency.p50_ms),
        (0.95, answer.latency.p95_ms),
        (0.99, answer.latency.p99_ms),
    ):
        truth = exact[math.ceil(q * len(exact)) - 1]
        assert estimate == pytest.approx(truth, rel=0.02), f"p{q * 100:g}"
    assert answer.latency.min_ms == exact[0]
    assert answer.latency.max_ms == exact[-1]
    assert answer.latency.avg_ms == pytest.approx(sum(latencies) / len(latencies), rel=1e-9)


async def test_a_window_reads_the_same_from_rollups_and_raw(
    db: asyncpg.Connection, midnight: datetime
) -> None:
    target_id = await new_target(db)
    start = midnight - timedelta(days=5, minutes=7)
    rng = random.Random(7)
    checks = [
        (t, rng.choice(["up"] * 8 + ["down", "degraded"]), rng.uniform(0.2, 900) if n % 9 else None)
        for n, t in enumerate(slots(start, 4 * 1440 + 300))
    ]
    await record_history(db, target_id, checks)
    # Edges inside hours and days: raw for the ragged ends, hourly, then daily in the middle.
    window = Range(start + timedelta(minutes=13), midnight - timedelta(hours=20, minutes=31))
    answer = await both(db, target_id, window)
    inside = [c for c in checks if window.start <= c[0] < window.end]
    assert answer.checks == len(inside)
    assert answer.failures == sum(1 for c in inside if c[1] == "down")
    measured = [c[2] for c in inside if c[2] is not None]
    assert answer.latency is not None
    assert answer.latency.max_ms == max(measured)


async def test_windows_ending_now_read_today_from_rollups_and_agree_with_raw(
    db: asyncpg.Connection, midnight: datetime
) -> None:
    """A window that ends now (or later) reads the current hour and today from the rollups,
    which hold everything recorded so far: the answer is still the one raw results give."""
    target_id = await new_target(db)
    now: datetime = await db.fetchval("SELECT now()")
    start = midnight - timedelta(days=8, minutes=17)
    rng = random.Random(11)
    checks = [
        (t, rng.choice(["up"] * 6 + ["down", "degraded"]), rng.uniform(1, 400) if n % 7 else None)
        for n, t in enumerate(slots(start, (now - start) // MINUTE))
    ]
    await record_history(db, target_id, checks)
    windows: list[Window] = [
        UptimeWindow.LAST_HOUR,
        UptimeWindow.LAST_24_HOURS,
        UptimeWindow.LAST_7_DAYS,
        Range(midnight - timedelta(days=3, minutes=41), now + timedelta(hours=30)),
    ]
    answers = (await uptime_for_targets(db, [target_id], windows))[target_id]
    bounds: list[Window] = [Range(a.start, a.end) for a in answers]
    raw = (await uptime_for_targets(db, [target_id], bounds, use_rollups=False))[target_id]
    for fast, slow in zip(answers, raw, strict=True):
        assert_same(fast, slow)
        assert fast.checks == sum(1 for c in checks if fast.start <= c[0] < fast.end) > 0


async def test_many_targets_and_windows_in_one_query(
    db: asyncpg.Connection, midnight: datetime
) -> None:
    first, second, silent = [await new_target(db) for _ in range(3)]
    start = midnight - timedelta(days=1)
    await record_history(db, first, [(t, "up", 10.0) for t in slots(start, 60)])
    await record_history(db, second, [(t, "down", None) for t in slots(start, 30)])
    windows = [Range(start, start + timedelta(hours=1)), Range(start, start + 30 * MINUTE)]
    answers = await uptime_for_targets(db, [first, second, silent], windows)
    assert [a.ratio for a in answers[first]] == [1.0, 1.0]
    assert [a.ratio for a in answers[second]] == [0.0, 0.0]
    assert [a.coverage for a in answers[second]] == [0.5, 1.0]
    assert [a.ratio for a in answers[silent]] == [None, None]
    assert answers[second][0].latency is None


async def test_rolling_windows_end_now_and_long_ones_start_on_the_hour(
    db: asyncpg.Connection,
) -> None:
    target_id = await new_target(db)
    windows = list(UptimeWindow)
    answers = (await uptime_for_targets(db, [target_id], windows))[target_id]
    now = await db.fetchval("SELECT now()")
    for window, answer in zip(windows, answers, strict=True):
        assert answer.end <= now
        length = answer.end - answer.start
        if window is UptimeWindow.LAST_HOUR:
            assert length == window.value
        else:
            assert answer.start.minute == answer.start.second == answer.start.microsecond == 0
            assert window.value <= length < window.value + timedelta(hours=1)


async def test_rollups_equal_a_recomputation_from_raw(
    db: asyncpg.Connection, midnight: datetime
) -> None:
    target_id = await new_target(db)
    start = midnight - timedelta(days=2)
    rng = random.Random(3)
    checks = [
        (t, rng.choice(["up", "up", "down"]), rng.uniform(1, 500)) for t in slots(start, 2 * 1440)
    ]
    for batch in range(0, len(checks), 97):  # as the worker records: many small batches
        await record_history(db, target_id, checks[batch : batch + 97])
    reports = await rebuild_rollups(db, start)
    assert [(r.period, r.differed) for r in reports] == [("hour", 0), ("day", 0)]
    assert [r.buckets for r in reports] == [48, 2]

    # A damaged rollup or histogram is found and repaired.
    await db.execute("UPDATE check_rollup_hourly SET up = up + 1 WHERE bucket_start = $1", start)
    await db.execute(
        "UPDATE check_histogram_hourly SET checks = checks + 1 WHERE bucket_start = $1"
        " AND bucket = (SELECT min(bucket) FROM check_histogram_hourly WHERE bucket_start = $1)",
        start + timedelta(hours=1),
    )
    await db.execute("DELETE FROM check_rollup_daily WHERE bucket_start = $1", start)
    reports = await rebuild_rollups(db, start)
    assert [(r.period, r.differed) for r in reports] == [("hour", 2), ("day", 1)]
    reports = await rebuild_rollups(db, start)
    assert [r.differed for r in reports] == [0, 0]


async def test_retention_drops_whole_days_and_statistics_stay(
    db: asyncpg.Connection, midnight: datetime
) -> None:
    target_id = await new_target(db)
    start = midnight - timedelta(days=5)
    rng = random.Random(11)
    await record_history(
        db,
        target_id,
        [
            (t, rng.choice(["up"] * 5 + ["down"]), rng.uniform(5, 50))
            for t in slots(start, 5 * 1440)
        ],
    )
    whole = Range(start, midnight)
    recent = Range(midnight - timedelta(days=2), midnight)
    before_whole = await uptime_for_window(db, target_id, whole)
    before_recent = await uptime_for_window(db, target_id, recent, use_rollups=False)

    done = await manage_partitions(db, retention_days=3)
    dropped_days = sorted(done.dropped)
    assert len(dropped_days) >= 2, dropped_days
    remaining = await existing_partitions(db)
    assert min(remaining) == (midnight - timedelta(days=3)).date()
    assert (
        await db.fetchval(
            "SELECT count(*) FROM check_result WHERE scheduled_for < $1",
            midnight - timedelta(days=3),
        )
        == 0
    )

    after_whole = await uptime_for_window(db, target_id, whole)
    after_recent = await uptime_for_window(db, target_id, recent, use_rollups=False)
    assert before_whole is not None and after_whole is not None
    assert before_recent is not None and after_recent is not None
    assert_same(before_whole, after_whole)  # the dropped days live on in the rollups
    assert_same(before_recent, after_recent)  # the days kept are untouched


def test_histogram_buckets_cover_every_latency() -> None:
    assert bucket_bounds(0) == (0.0, 0.5)
    assert bucket_bounds(HISTOGRAM_BUCKETS - 1)[1] == math.inf
    for index in range(HISTOGRAM_BUCKETS - 1):
        assert bucket_bounds(index)[1] == pytest.approx(bucket_bounds(index + 1)[0])


async def test_uptime_stats_rebuild_reports_each_rollup_by_its_name(database_url: str) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "uptime_cli",
        "stats",
        "rebuild",
        "--since",
        f"{datetime.now(UTC):%Y-%m-%d}",
        env={**os.environ, "DATABASE_URL": database_url},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0, err.decode()
    lines = out.decode().splitlines()
    assert [line.split(" rollups from ")[0] for line in lines] == ["hourly", "daily"], lines
