"""Several real worker processes against real local targets: exactly one result per slot,
slots on the grid with gaps only where the design allows them, crash recovery, shutdown that
hands work back. Database restarts: test_database_outage.py."""

from __future__ import annotations

import asyncio
import itertools
import signal
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import timedelta

import asyncpg
import httpx
import pytest

from tests.support.peers import HttpPeer, Request, TcpPeer, respond
from tests.support.processes import StartWorker, WorkerProcess
from tests.support.targets import TargetSpec, insert_targets
from tests.support.wait import poll_until
from uptime_core.runtime.db import libpq_url


class SlowHttpPeer(HttpPeer):
    """Adds ``/delay/<seconds>``: answers 200 after that long."""

    async def _route(self, request: Request, writer: asyncio.StreamWriter) -> None:
        if request.path.startswith("/delay/"):
            await asyncio.sleep(float(request.path.removeprefix("/delay/")))
            await respond(writer, 200, b"late but fine")
        else:
            await super()._route(request, writer)


@pytest.fixture
async def http_server() -> AsyncIterator[SlowHttpPeer]:
    peer = await SlowHttpPeer().start("127.0.0.1", None)
    yield peer
    await peer.stop()


@pytest.fixture
async def tcp_server() -> AsyncIterator[TcpPeer]:
    peer = await TcpPeer().start("127.0.0.1")
    yield peer
    await peer.stop()


def local_targets(http: HttpPeer, tcp: TcpPeer, count: int, **spec: object) -> list[TargetSpec]:
    half = count // 2
    return [
        TargetSpec(kind="http", url=http.url("/ok"), **spec)  # type: ignore[arg-type]
        for _ in range(half)
    ] + [
        TargetSpec(kind="tcp", host="127.0.0.1", port=tcp.port, **spec)  # type: ignore[arg-type]
        for _ in range(count - half)
    ]


async def slots_by_target(db: asyncpg.Connection) -> dict[int, list[asyncpg.Record]]:
    rows = await db.fetch(
        "SELECT target_id, scheduled_for, status, recorded_by, finished_at, recorded_at "
        "FROM check_result "
        "ORDER BY target_id, scheduled_for"
    )
    grouped: dict[int, list[asyncpg.Record]] = defaultdict(list)
    for row in rows:
        grouped[row["target_id"]].append(row)
    return grouped


async def metric(worker: WorkerProcess, name: str) -> float:
    """The sum of a metric's samples on a worker's /metrics."""
    async with httpx.AsyncClient() as client:
        text = (await client.get(f"{worker.health}/metrics")).text
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith(name) and not line.startswith("#")
    )


# A slot is skipped by design only when its predecessor was recorded late: the record
# statement moves the schedule on from a slot by one interval, or, when it records the slot
# two or more intervals after its time (a worker fell behind: a busy machine, a slow
# database), to the latest slot on the grid not after that moment (uptime_core.scheduling,
# NEXT_SLOT). On a machine shared with other work that happens now and then; a worker that
# lost whole seconds again and again, or a gap with no late predecessor, is a defect.
MAX_GAP_INTERVALS = 5
MIN_SHARE_RECORDED = 0.5
MAX_SHARE_SKIPPED = 0.2


async def stamp_recording_moments(db: asyncpg.Connection) -> None:
    """Give ``check_result`` (in this test's database only) the moment each row was recorded:
    ``now()`` of the record statement, the very moment its NEXT_SLOT computes from."""
    await db.execute(
        "ALTER TABLE check_result ADD COLUMN recorded_at timestamptz NOT NULL DEFAULT now()"
    )


def skipped_slots(rows: list[asyncpg.Record], interval: timedelta) -> int:
    """Slots on the target's grid (whole intervals from its first), each next slot the one the
    record statement chose when it recorded the previous (one interval on, or the latest slot
    not after that moment when recorded two or more intervals late); how many were skipped."""
    skipped = 0
    for earlier, later in itertools.pairwise(rows):
        step = later["scheduled_for"] - earlier["scheduled_for"]
        intervals, remainder = divmod(step, interval)
        assert remainder == timedelta(0) and intervals >= 1, f"slot off the grid: {step}"
        lateness = earlier["recorded_at"] - earlier["scheduled_for"]
        assert intervals == max(1, lateness // interval), (
            f"{intervals - 1} slots skipped after a slot recorded {lateness} after its time",
            earlier,
            later,
        )
        assert intervals <= MAX_GAP_INTERVALS, f"{intervals - 1} slots skipped in a row"
        skipped += intervals - 1
    return skipped


async def test_three_workers_record_each_slot_at_most_once_on_the_grid(
    database_url: str,
    start_worker: StartWorker,
    http_server: SlowHttpPeer,
    tcp_server: TcpPeer,
) -> None:
    # Everything the run depends on is set here, not taken from the environment.
    interval = timedelta(seconds=1)
    run_seconds = 20
    db = await asyncpg.connect(libpq_url(database_url))
    try:
        await stamp_recording_moments(db)
    except BaseException:
        await db.close()
        raise
    workers = [
        start_worker(
            database_url,
            f"w{n}",
            worker_concurrency="50",
            worker_batch_size="100",
            worker_lease_margin_seconds="5",
            log_level="info",
        )
        for n in range(3)
    ]
    try:
        await asyncio.gather(*(w.ready() for w in workers))
        spec = {"interval_seconds": int(interval.total_seconds()), "timeout_seconds": 2.0}
        ids = await insert_targets(db, local_targets(http_server, tcp_server, 200, **spec))
        await asyncio.sleep(run_seconds)  # the run under test: 200 targets at 1 s for 20 s
        fenced = [await metric(w, "uptime_worker_results_fenced_total") for w in workers]
        assert fenced == [0, 0, 0], "no worker probed a slot another one recorded"
        assert [await w.stop() for w in workers] == [0, 0, 0]
        by_target = await slots_by_target(db)
        total = await db.fetchval("SELECT count(*) FROM check_result")
        distinct = await db.fetchval(
            "SELECT count(DISTINCT (target_id, scheduled_for)) FROM check_result"
        )
    finally:
        await db.close()

    assert total == distinct, "a slot was recorded twice"
    assert sorted(by_target) == sorted(ids), "every target was checked"
    skipped = 0
    for rows in by_target.values():
        assert len(rows) >= MIN_SHARE_RECORDED * run_seconds, f"only {len(rows)} checks in 20 s"
        skipped += skipped_slots(rows, interval)
        assert {r["status"] for r in rows} == {"up"}
    # Each skipped slot is no data for its target: a few, never a large share of the run.
    assert skipped <= MAX_SHARE_SKIPPED * (skipped + total), f"{skipped} slots skipped"
    recorders = {r["recorded_by"] for rows in by_target.values() for r in rows}
    assert recorders == {"w0", "w1", "w2"}, "the three replicas share the work"


async def test_slots_of_a_killed_worker_are_recorded_by_the_others(
    database_url: str, start_worker: StartWorker, http_server: SlowHttpPeer
) -> None:
    margin = 1.0
    timeout = 1.0
    lease = timedelta(seconds=2 * timeout + margin)
    interval = timedelta(seconds=1)
    workers = [
        start_worker(database_url, f"w{n}", worker_lease_margin_seconds=str(margin))
        for n in range(3)
    ]
    await asyncio.gather(*(w.ready() for w in workers))
    db = await asyncpg.connect(libpq_url(database_url))
    try:
        # Each check takes half a second, so every worker always holds some leases.
        slow = TargetSpec(kind="http", url=http_server.url("/delay/0.5"), timeout_seconds=timeout)
        await insert_targets(db, [slow] * 60)
        await asyncio.sleep(5)
        # The worker holding the most leases now: with claims a second ahead, one replica can
        # hold all of a small fleet's slots for a while, and the others none.
        busiest = await db.fetchval(
            "SELECT lease_owner FROM target WHERE lease_owner IS NOT NULL"
            " GROUP BY lease_owner ORDER BY count(*) DESC LIMIT 1"
        )
        victim = next(w for w in workers if w.worker_id == busiest)
        survivors = {w.worker_id for w in workers if w is not victim}
        victim.process.send_signal(signal.SIGKILL)
        victim.process.wait()
        killed_at = await db.fetchval("SELECT now()")
        orphaned = await db.fetch(
            "SELECT id, next_run_at, lease_expires_at FROM target WHERE lease_owner = $1",
            victim.worker_id,
        )
        assert orphaned, "the killed worker held leases"
        recorded = await poll_until(
            lambda: db.fetch(
                "SELECT r.target_id, r.recorded_by, r.finished_at FROM check_result r "
                "JOIN unnest($1::bigint[], $2::timestamptz[]) AS o(id, slot) "
                "ON r.target_id = o.id AND r.scheduled_for = o.slot",
                [o["id"] for o in orphaned],
                [o["next_run_at"] for o in orphaned],
            ),
            lambda rows: len(rows) == len(orphaned),
            within=(lease + interval).total_seconds() + 1,
            every=0.2,
        )
        assert len(recorded) == len(orphaned), "every orphaned slot is recorded"
        assert {r["recorded_by"] for r in recorded} <= survivors
        expiry = {o["id"]: o["lease_expires_at"] for o in orphaned}
        for row in recorded:
            # Within one interval of the lease's expiry, itself at most a lease after the kill.
            assert row["finished_at"] <= expiry[row["target_id"]] + interval
            assert expiry[row["target_id"]] <= killed_at + lease
        assert [await w.stop() for w in workers if w is not victim] == [0, 0]
        total = await db.fetchval("SELECT count(*) FROM check_result")
        distinct = await db.fetchval(
            "SELECT count(DISTINCT (target_id, scheduled_for)) FROM check_result"
        )
    finally:
        await db.close()
    assert total == distinct


async def test_sigterm_hands_back_unstarted_slots_at_once(
    database_url: str, start_worker: StartWorker, http_server: SlowHttpPeer
) -> None:
    # Two probes at a time, each taking 3 s: the worker holds two more claimed but unstarted.
    worker = start_worker(database_url, "leaving", worker_concurrency="2")
    await worker.ready()
    db = await asyncpg.connect(libpq_url(database_url))
    try:
        spec = TargetSpec(
            kind="http", url=http_server.url("/delay/3"), timeout_seconds=10, interval_seconds=60
        )
        ids = await insert_targets(db, [spec] * 6)
        await db.execute("UPDATE target SET next_run_at = now()")

        async def held() -> list[asyncpg.Record]:
            return await db.fetch(
                "SELECT id, next_run_at FROM target WHERE lease_owner = 'leaving' ORDER BY id"
            )

        assert len(await poll_until(held, lambda rows: len(rows) >= 4, within=10)) == 4
        worker.process.send_signal(signal.SIGTERM)
        sent = time.monotonic()
        still_held = await poll_until(held, lambda rows: len(rows) <= 2, within=2)
        assert len(still_held) == 2, "only the two probes in flight keep their leases"
        assert time.monotonic() - sent < 1.5, "handed back at once, not at lease expiry (25 s)"

        other = start_worker(database_url, "staying", worker_concurrency="10")
        assert await worker.stop() == 0
        leaving_recorded = await db.fetchval(
            "SELECT count(*) FROM check_result WHERE recorded_by = 'leaving'"
        )
        assert leaving_recorded == 2, "the probes in flight were finished and recorded"
        recorded = await poll_until(
            lambda: db.fetchval("SELECT count(*) FROM check_result"),
            lambda count: count >= len(ids),
            within=10,
        )
        assert recorded == len(ids), "the other worker ran the handed-back slots"
        assert await other.stop() == 0
    finally:
        await db.close()
    assert "gave back 2 unstarted slots" in worker.output
