"""The NOTIFY payload contract (uptime_core.events): ``parse`` reads what the record statement
really sends, and refuses what is not of its shapes."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from tests.support.targets import TargetSpec, insert_targets
from tests.support.wait import poll_until
from uptime_core.enums import CheckStatus
from uptime_core.events import (
    EVENTS_CHANNEL,
    ChecksRecorded,
    StatusChange,
    StatusChanged,
    parse,
)
from uptime_core.probes import ProbeResult
from uptime_core.scheduling.claim import claim_due_targets
from uptime_core.scheduling.record import CheckOutcome, record_results

SLOT = datetime(2026, 11, 27, 12, 0, 0, 123456, tzinfo=UTC)


async def test_parse_reads_what_the_record_statement_sends(db: asyncpg.Connection) -> None:
    spec = TargetSpec(kind="tcp", host="127.0.0.1", port=9)
    target_ids = await insert_targets(db, [spec, spec])
    await db.execute("UPDATE target SET next_run_at = now() - interval '1 second'")
    payloads: list[str] = []
    await db.add_listener(EVENTS_CHANNEL, lambda _c, _p, _ch, payload: payloads.append(payload))
    slots = await claim_due_targets(db, "a", 10, lease_margin_seconds=1.0)
    assert sorted(s.id for s in slots) == sorted(target_ids)
    up = ProbeResult(CheckStatus.UP, latency_ms=1.0)
    outcomes = [
        CheckOutcome(s.id, s.slot, s.slot, s.slot + timedelta(seconds=0.01), up) for s in slots
    ]
    assert (await record_results(db, "a", outcomes)).recorded == 2

    async def received() -> int:
        await asyncio.sleep(0)
        return len(payloads)

    # One notification of checks, one of changes (a new target's first check confirms "up").
    assert await poll_until(received, lambda n: n >= 2, within=5) == 2
    events = [event for payload in payloads for event in parse(payload)]
    [checks] = [e for e in events if isinstance(e, ChecksRecorded)]
    [changes] = [e for e in events if isinstance(e, StatusChanged)]
    assert sorted(checks.checks) == sorted((s.id, s.slot) for s in slots)
    assert sorted(changes.changes, key=lambda c: c.target_id) == [
        StatusChange(s.id, "unknown", "up", s.slot) for s in sorted(slots, key=lambda s: s.id)
    ]


def test_parse_reads_the_two_shapes() -> None:
    slot = SLOT.isoformat()
    assert parse(f'{{"checks": [[1, "{slot}"], [2, "{slot}"]]}}') == (
        ChecksRecorded(((1, SLOT), (2, SLOT))),
    )
    assert parse(f'{{"changes": [[3, "up", "down", "{slot}"]]}}') == (
        StatusChanged((StatusChange(3, "up", "down", SLOT),)),
    )
    # As PostgreSQL's JSON writes a timestamptz, with its session's offset.
    assert parse('{"checks": [[1, "2026-11-27T13:00:00.123456+01:00"]]}') == (
        ChecksRecorded(((1, SLOT),)),
    )


def test_a_payload_of_no_known_kind_holds_no_event() -> None:
    assert parse("{}") == ()
    assert parse('{"incidents": [[1]]}') == ()


@pytest.mark.parametrize(
    "payload",
    [
        "not json",
        "[]",
        '{"checks": null}',
        '{"checks": [[1]]}',
        '{"checks": [["x", "2026-11-27T12:00:00+00:00"]]}',
        '{"checks": [[1, "yesterday"]]}',
        '{"changes": [[1, "up", "down"]]}',
        '{"changes": [[1, 2, "down", "2026-11-27T12:00:00+00:00"]]}',
    ],
)
def test_parse_refuses_what_is_not_of_the_shapes(payload: str) -> None:
    with pytest.raises(ValueError):
        parse(payload)
