"""The outbox, statement by statement: the record statement writes deliveries for incident
changes, once per watching channel, only for results it records, held back by maintenance."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from tests.alerting.support import DOWN, UP, check, new_target
from uptime_core.alerting.channels import ChannelFields, create_channel
from uptime_core.alerting.messages import format_duration
from uptime_core.alerting.outbox import claim_due_deliveries, prune_deliveries
from uptime_core.enums import ChannelKind
from uptime_core.scheduling.claim import claim_due_targets
from uptime_core.scheduling.record import CheckOutcome, record_results


async def channel(
    pool: asyncpg.Pool,
    name: str,
    *,
    target_ids: list[int] | None = None,
    all_targets: bool = False,
    enabled: bool = True,
    reminder: int | None = None,
) -> int:
    fields = ChannelFields(
        name=name,
        kind=ChannelKind.WEBHOOK,
        config={"url": f"http://127.0.0.1:9/{name}"},
        all_targets=all_targets,
        enabled=enabled,
        reminder_interval_seconds=reminder,
        target_ids=target_ids or [],
    )
    return (await create_channel(pool, fields)).id


async def deliveries(db: asyncpg.Connection) -> list[dict[str, Any]]:
    rows = await db.fetch(
        "SELECT channel_id, incident_id, event, sequence, state, idempotency_key, payload "
        "FROM delivery ORDER BY id"
    )
    return [{**dict(row), "payload": json.loads(row["payload"])} for row in rows]


def minutes_ago(minutes: float) -> datetime:
    return datetime.now(UTC) - timedelta(minutes=minutes)


async def test_incident_changes_write_one_delivery_per_watching_channel(
    db: asyncpg.Connection, pool: asyncpg.Pool
) -> None:
    target = await new_target(db)
    other = await new_target(db, "other")
    attached = await channel(pool, "attached", target_ids=[target])
    everything = await channel(pool, "everything", all_targets=True)
    await channel(pool, "elsewhere", target_ids=[other])
    await channel(pool, "disabled", all_targets=True, enabled=False)

    await check(db, target, DOWN, minutes_ago(10))
    assert await deliveries(db) == [], "one failure does not confirm an outage"
    await check(db, target, DOWN, minutes_ago(9))
    opened = await deliveries(db)
    assert sorted((d["channel_id"], d["event"], d["state"]) for d in opened) == [
        (attached, "down", "pending"),
        (everything, "down", "pending"),
    ]
    await check(db, target, DOWN, minutes_ago(8))
    assert len(await deliveries(db)) == 2, "staying down announces nothing new"
    await check(db, target, UP, minutes_ago(7))
    await check(db, target, UP, minutes_ago(6))

    written = await deliveries(db)
    assert sorted((d["channel_id"], d["event"]) for d in written) == sorted(
        [(attached, "down"), (everything, "down"), (attached, "resolved"), (everything, "resolved")]
    )
    assert len({d["idempotency_key"] for d in written}) == 4
    incident = await db.fetchrow("SELECT * FROM incident WHERE target_id = $1", target)
    for delivery in written:
        assert delivery["incident_id"] == incident["id"]
        assert delivery["payload"]["target"] == {"id": target, "name": "billing api"}
        assert delivery["payload"]["incident"]["cause"] == "refused: connection refused"
    [resolved] = [d for d in written if d["event"] == "resolved" and d["channel_id"] == attached]
    duration = (incident["resolved_at"] - incident["started_at"]).total_seconds()
    assert resolved["payload"]["incident"]["duration_seconds"] == duration
    assert format_duration(duration) == "3 min"


async def test_a_fenced_result_writes_no_delivery(
    db: asyncpg.Connection, pool: asyncpg.Pool
) -> None:
    target = await new_target(db)
    await channel(pool, "everything", all_targets=True)
    await check(db, target, DOWN, minutes_ago(10))
    slot = minutes_ago(9)
    await db.execute("UPDATE target SET next_run_at = $2 WHERE id = $1", target, slot)
    [claimed] = await claim_due_targets(db, "owner", 10, lease_margin_seconds=5.0)
    late = CheckOutcome(target, claimed.slot, slot, slot, DOWN)
    done = await record_results(db, "someone-else", [late])
    assert (done.recorded, done.opened, done.queued) == (0, 0, 0)
    assert await deliveries(db) == []


async def test_a_down_inside_a_window_is_suppressed_then_announced_if_still_down_after(
    db: asyncpg.Connection, pool: asyncpg.Pool
) -> None:
    target = await new_target(db)
    watching = await channel(pool, "everything", all_targets=True)
    await db.execute(
        "INSERT INTO maintenance_window (name, target_id, kind, starts_at, ends_at) "
        "VALUES ('upgrade', $1, 'once', $2, $3)",
        target,
        minutes_ago(30),
        minutes_ago(20),
    )
    await check(db, target, DOWN, minutes_ago(25))
    await check(db, target, DOWN, minutes_ago(24))
    [held] = await deliveries(db)
    assert (held["event"], held["state"]) == ("down", "suppressed")
    marks = await db.fetch(
        "SELECT in_maintenance FROM check_result WHERE target_id = $1 ORDER BY scheduled_for",
        target,
    )
    assert [m["in_maintenance"] for m in marks] == [True, True]
    counted = await db.fetchval(
        "SELECT coalesce(sum(up + degraded + down), 0) FROM check_rollup_hourly "
        "WHERE target_id = $1",
        target,
    )
    assert counted == 0, "checks inside a window are neither up nor down in the rollups"

    await check(db, target, DOWN, minutes_ago(19))
    after = await deliveries(db)
    assert [(d["event"], d["state"]) for d in after] == [
        ("down", "suppressed"),
        ("down", "pending"),
    ]
    await check(db, target, DOWN, minutes_ago(18))
    assert len(await deliveries(db)) == 2
    await check(db, target, UP, minutes_ago(17))
    await check(db, target, UP, minutes_ago(16))
    final = await deliveries(db)
    assert [(d["channel_id"], d["event"], d["state"]) for d in final][-1] == (
        watching,
        "resolved",
        "pending",
    )


async def test_an_outage_wholly_inside_a_window_sends_nothing(
    db: asyncpg.Connection, pool: asyncpg.Pool
) -> None:
    target = await new_target(db)
    await channel(pool, "everything", all_targets=True)
    await db.execute(
        "INSERT INTO maintenance_window (name, kind, starts_at, ends_at) "
        "VALUES ('all targets', 'once', $1, $2)",
        minutes_ago(30),
        minutes_ago(0),
    )
    for minutes, result in [(25, DOWN), (24, DOWN), (23, DOWN), (22, UP), (21, UP)]:
        await check(db, target, result, minutes_ago(minutes))
    assert [(d["event"], d["state"]) for d in await deliveries(db)] == [("down", "suppressed")]
    assert await db.fetchval("SELECT count(*) FROM incident WHERE resolved_at IS NOT NULL") == 1


async def test_a_resolution_inside_a_window_of_an_announced_outage_is_sent(
    db: asyncpg.Connection, pool: asyncpg.Pool
) -> None:
    target = await new_target(db)
    await channel(pool, "everything", all_targets=True)
    await db.execute(
        "INSERT INTO maintenance_window (name, target_id, kind, starts_at, ends_at) "
        "VALUES ('fix', $1, 'once', $2, $3)",
        target,
        minutes_ago(20),
        minutes_ago(10),
    )
    await check(db, target, DOWN, minutes_ago(25))
    await check(db, target, DOWN, minutes_ago(24))
    await check(db, target, UP, minutes_ago(15))
    await check(db, target, UP, minutes_ago(14))
    assert [(d["event"], d["state"]) for d in await deliveries(db)] == [
        ("down", "pending"),
        ("resolved", "pending"),
    ]


async def test_reminders_follow_the_channel_interval_while_down(
    db: asyncpg.Connection, pool: asyncpg.Pool
) -> None:
    target = await new_target(db)
    await channel(pool, "quiet", all_targets=True)
    reminded = await channel(pool, "nagging", all_targets=True, reminder=600)
    await check(db, target, DOWN, minutes_ago(30))
    await check(db, target, DOWN, minutes_ago(29))
    await check(db, target, DOWN, minutes_ago(28))
    assert [d["event"] for d in await deliveries(db)] == ["down", "down"]

    async def age(seconds: int) -> None:
        await db.execute(
            "UPDATE delivery SET created_at = created_at - make_interval(secs => $1)", seconds
        )

    await age(599)
    await check(db, target, DOWN, minutes_ago(27))
    assert len(await deliveries(db)) == 2, "not yet: the interval has not passed"
    await age(2)
    await check(db, target, DOWN, minutes_ago(26))
    await check(db, target, DOWN, minutes_ago(25))
    await age(601)
    await check(db, target, DOWN, minutes_ago(24))
    reminders = [d for d in await deliveries(db) if d["event"] == "reminder"]
    assert [(d["channel_id"], d["sequence"]) for d in reminders] == [(reminded, 1), (reminded, 2)]
    assert reminders[0]["idempotency_key"] != reminders[1]["idempotency_key"]
    assert [d["payload"]["reminder"] for d in reminders] == [1, 2]


async def test_a_resolution_waits_for_its_down_to_be_sent_first(
    db: asyncpg.Connection, pool: asyncpg.Pool
) -> None:
    target = await new_target(db)
    await channel(pool, "everything", all_targets=True)
    await check(db, target, DOWN, minutes_ago(10))
    await check(db, target, DOWN, minutes_ago(9))
    # The "down" failed once and waits for its retry.
    await db.execute("UPDATE delivery SET next_attempt_at = now() + interval '1 hour'")
    await check(db, target, UP, minutes_ago(8))
    await check(db, target, UP, minutes_ago(7))
    assert [d["event"] for d in await deliveries(db)] == ["down", "resolved"]
    assert await claim_due_deliveries(db, "w", 10, 5.0, 3600.0) == []
    await db.execute("UPDATE delivery SET next_attempt_at = now() WHERE event = 'down'")
    [first] = await claim_due_deliveries(db, "w", 10, 5.0, 3600.0)
    assert first.event == "down"
    await db.execute("UPDATE delivery SET state = 'sent' WHERE id = $1", first.id)
    [second] = await claim_due_deliveries(db, "w", 10, 5.0, 3600.0)
    assert second.event == "resolved"


async def test_finished_deliveries_are_pruned_after_the_retention(
    db: asyncpg.Connection, pool: asyncpg.Pool
) -> None:
    target = await new_target(db)
    await channel(pool, "everything", all_targets=True)
    await check(db, target, DOWN, minutes_ago(10))
    await check(db, target, DOWN, minutes_ago(9))
    await check(db, target, UP, minutes_ago(8))
    await check(db, target, UP, minutes_ago(7))
    await db.execute(
        "UPDATE delivery SET created_at = now() - interval '31 days', "
        "state = CASE WHEN event = 'down' THEN 'sent' ELSE state END"
    )
    assert await prune_deliveries(db, 30) == 1
    assert [d["state"] for d in await deliveries(db)] == ["pending"], "pending ones stay"


async def test_pruning_keeps_the_deliveries_of_an_open_incident(
    db: asyncpg.Connection, pool: asyncpg.Pool
) -> None:
    target = await new_target(db)
    await channel(pool, "everything", all_targets=True, reminder=600)
    await check(db, target, DOWN, minutes_ago(10))
    await check(db, target, DOWN, minutes_ago(9))
    await db.execute("UPDATE delivery SET state = 'sent'")
    await db.execute(
        "UPDATE delivery SET created_at = now() - interval '31 days' - interval '11 minutes'"
    )
    await check(db, target, DOWN, minutes_ago(8))  # the reminder is due: reminder 1
    await db.execute("UPDATE delivery SET state = 'sent', created_at = now() - interval '31 days'")
    test = await channel(pool, "tested")
    await db.execute(
        "INSERT INTO delivery (channel_id, event, idempotency_key, state, created_at) "
        "VALUES ($1, 'test', 'uptime-test-old', 'sent', now() - interval '31 days')",
        test,
    )
    assert await prune_deliveries(db, 30) == 1, "only the test message: its incident is open"
    assert [(d["event"], d["sequence"]) for d in await deliveries(db)] == [
        ("down", 0),
        ("reminder", 1),
    ]
    await check(db, target, DOWN, minutes_ago(7))
    written = await deliveries(db)
    assert [(d["event"], d["sequence"]) for d in written] == [
        ("down", 0),
        ("reminder", 1),
        ("reminder", 2),
    ], "no second down; the next reminder is the next number"

    await check(db, target, UP, minutes_ago(6))
    await check(db, target, UP, minutes_ago(5))
    await db.execute("UPDATE delivery SET state = 'sent', created_at = now() - interval '31 days'")
    assert await prune_deliveries(db, 30) == 4, "once resolved, all of them go"


async def test_a_resolution_reaches_a_channel_disabled_or_detached_during_the_outage(
    db: asyncpg.Connection, pool: asyncpg.Pool
) -> None:
    target = await new_target(db)
    disabled = await channel(pool, "disabled later", target_ids=[target])
    detached = await channel(pool, "detached later", target_ids=[target])
    deleted = await channel(pool, "deleted later", all_targets=True)
    await check(db, target, DOWN, minutes_ago(10))
    await check(db, target, DOWN, minutes_ago(9))
    await db.execute("UPDATE notification_channel SET enabled = false WHERE id = $1", disabled)
    await db.execute("DELETE FROM channel_target WHERE channel_id = $1", detached)
    await db.execute("DELETE FROM notification_channel WHERE id = $1", deleted)
    late = await channel(pool, "attached later", target_ids=[target])
    await check(db, target, DOWN, minutes_ago(8))
    await check(db, target, UP, minutes_ago(7))
    await check(db, target, UP, minutes_ago(6))
    resolved = sorted(d["channel_id"] for d in await deliveries(db) if d["event"] == "resolved")
    assert resolved == sorted([disabled, detached, late]), (
        "every channel told of the outage hears of its end; a deleted one does not"
    )
