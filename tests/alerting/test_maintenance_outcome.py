"""Must-show 4: inside a maintenance window a failing target sends nothing, and the window's
time is excluded from its uptime (reported as maintenance, not as up or down)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import asyncpg

from tests.alerting.receivers import SwitchableTarget, WebhookReceiver
from tests.alerting.support import DOWN, UP, add_channel, check, new_target, states
from tests.support.processes import StartWorker
from tests.support.targets import TargetSpec, insert_targets
from tests.support.wait import poll_until
from uptime_core.enums import ChannelKind
from uptime_core.stats.uptime import Range, uptime_for_window


async def test_a_window_is_neither_up_nor_down_in_uptime_and_clips_downtime(
    db: asyncpg.Connection,
) -> None:
    target = await new_target(db)
    await db.execute("UPDATE target SET created_at = now() - interval '2 hours'")
    now = await db.fetchval("SELECT date_trunc('minute', now())")
    at = [now - timedelta(minutes=m) for m in range(60, 0, -1)]  # one slot a minute
    window_start, window_end = now - timedelta(minutes=40), now - timedelta(minutes=20)
    await db.execute(
        "INSERT INTO maintenance_window (name, target_id, kind, starts_at, ends_at) "
        "VALUES ('upgrade', $1, 'once', $2, $3)",
        target,
        window_start,
        window_end,
    )
    # Down from 45 to 30 minutes ago (partly before the window), down again inside it from
    # 25 to 22 minutes ago; up otherwise.
    down_slots = {s for s in at if now - timedelta(minutes=45) <= s < now - timedelta(minutes=30)}
    down_slots |= {s for s in at if now - timedelta(minutes=25) <= s < now - timedelta(minutes=22)}
    for slot in at:
        await check(db, target, DOWN if slot in down_slots else UP, slot)

    inside = [s for s in at if window_start <= s < window_end]
    outside = [s for s in at if s not in inside]
    window = Range(now - timedelta(minutes=60), now)
    answers = [
        await uptime_for_window(db, target, window, use_rollups=use_rollups)
        for use_rollups in (True, False)
    ]
    for answer in answers:
        assert answer is not None
        assert answer.maintenance == len(inside)
        assert answer.checks == len(outside)
        assert answer.failures == len([s for s in outside if s in down_slots])
        assert answer.ratio == (len(outside) - answer.failures) / len(outside)
        assert answer.coverage == 1.0, "checks inside the window are data, not gaps"
        # The first incident runs from 45 to 30 minutes ago, 5 minutes of it before the
        # window; the second lies wholly inside it.
        incidents = await db.fetch(
            "SELECT started_at, resolved_at FROM incident WHERE target_id = $1 ORDER BY 1", target
        )
        before_window = sum(
            (min(i["resolved_at"], window_start) - i["started_at"]).total_seconds()
            for i in incidents
            if i["started_at"] < window_start
        )
        assert before_window == 5 * 60
        assert answer.downtime_seconds == before_window
    assert answers[0] == answers[1], "rollups and raw results agree"


async def test_a_failing_target_inside_a_window_sends_nothing(
    db: asyncpg.Connection,
    pool: asyncpg.Pool,
    database_url: str,
    start_worker: StartWorker,
    service: SwitchableTarget,
    receiver: WebhookReceiver,
) -> None:
    quiet, loud = await insert_targets(
        db,
        [
            TargetSpec(kind="http", url=service.url("/health"), name="in maintenance"),
            TargetSpec(kind="http", url=service.url("/down"), name="really down"),
        ],
    )
    now = datetime.now(UTC)
    await db.execute(
        "INSERT INTO maintenance_window (name, target_id, kind, starts_at, ends_at) "
        "VALUES ('upgrade', $1, 'once', $2, $3)",
        quiet,
        now - timedelta(minutes=1),
        now + timedelta(hours=1),
    )
    await add_channel(pool, "everything", ChannelKind.WEBHOOK, {"url": receiver.url("/hook")})
    service.healthy = False
    worker = start_worker(database_url, "w1")
    await worker.ready()

    async def statuses() -> dict[int, str]:
        rows = await db.fetch("SELECT id, status FROM target")
        return {row["id"]: row["status"] for row in rows}

    both_down = await poll_until(statuses, lambda s: s == {quiet: "down", loud: "down"}, within=20)
    assert both_down == {quiet: "down", loud: "down"}, worker.output
    # The other target's "down" proves deliveries flow in this very run.
    assert (await poll_until(lambda: states(db), lambda c: c["sent"] == 1, within=20))[
        "sent"
    ] == 1, worker.output
    await poll_until(
        lambda: db.fetchval(
            "SELECT count(*) FROM check_result WHERE target_id = $1 AND in_maintenance", quiet
        ),
        lambda n: n >= 4,
        within=20,
    )
    assert await states(db) == Counter(sent=1, suppressed=1)
    assert [r.document["target"]["name"] for r in receiver.received] == ["really down"]
    maintained = await db.fetchval(
        "SELECT bool_and(in_maintenance) FROM check_result WHERE target_id = $1", quiet
    )
    assert maintained is True
    answer = await uptime_for_window(
        db, quiet, Range(now - timedelta(minutes=1), now + timedelta(minutes=5))
    )
    assert answer is not None
    assert (answer.checks, answer.ratio, answer.downtime_seconds) == (0, None, 0.0)
    assert answer.maintenance > 0
