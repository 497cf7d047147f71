"""Two real `uptime worker` processes while their PostgreSQL is stopped with `pg_ctl stop -m
immediate` and killed with SIGKILL (the postmaster), five times each, and started again by
the test: the workers never exit, record again within 10 s of the database's return, and log
each outage once when it starts and once when it ends, without a traceback. A database that
cannot write (disk full) is an outage too: /readyz and the metrics say so."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from tests.support.peers import TcpPeer
from tests.support.postgres import create_database
from tests.support.processes import StartWorker, WorkerProcess
from tests.support.targets import TargetSpec, insert_targets
from tests.support.wait import poll_until
from uptime_core.runtime import migrations
from uptime_core.runtime.db import libpq_url
from uptime_core.runtime.embedded import EmbeddedPostgres

OUTAGES = ["immediate", "kill"] * 5
RECORDING_AGAIN_WITHIN_SECONDS = 10.0
OUTAGE_STARTS = "uptime.worker: database unavailable ("
OUTAGE_ENDS = "uptime.worker: database reachable again after"


@pytest.fixture
async def tcp_server() -> AsyncIterator[TcpPeer]:
    peer = await TcpPeer().start("127.0.0.1")
    yield peer
    await peer.stop()


@pytest.fixture
def server_dir() -> Iterator[Path]:
    """A directory for a PostgreSQL of the test's own. Not under pytest's tmp_path: another
    pytest run resets its base directory to 0700, locking out the server's user (as root)."""
    path = Path(tempfile.mkdtemp(prefix="uptime-outage-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


async def metrics(worker: WorkerProcess) -> dict[str, float]:
    """A worker's /metrics, each sample by its name and labels."""
    async with httpx.AsyncClient() as client:
        text = (await client.get(f"{worker.health}/metrics", timeout=5)).text
    return {
        line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line and not line.startswith("#")
    }


async def readiness(worker: WorkerProcess) -> tuple[int, str]:
    async with httpx.AsyncClient() as client:
        answer = await client.get(f"{worker.health}/readyz", timeout=5)
    return answer.status_code, str(answer.json().get("reason", ""))


async def recorders_since_now(url: str, expected: int) -> int:
    """How many workers recorded a result finished after now, polled until ``expected`` or
    RECORDING_AGAIN_WITHIN_SECONDS."""
    db = await asyncpg.connect(libpq_url(url))
    try:
        returned_at = await db.fetchval("SELECT now()")
        count: int = await poll_until(
            lambda: db.fetchval(
                "SELECT count(DISTINCT recorded_by) FROM check_result WHERE finished_at > $1",
                returned_at,
            ),
            lambda count: count == expected,
            within=RECORDING_AGAIN_WITHIN_SECONDS,
            every=0.1,
        )
        return count
    finally:
        await db.close()


def take_down(server: EmbeddedPostgres, how: str) -> None:
    """Stop the server at once (``immediate``) or kill its postmaster (``kill``)."""
    if how == "immediate":
        result = server._pg("pg_ctl", "stop", "-D", str(server.pgdata), "-m", "immediate", "-w")
        assert result.returncode == 0, result.stderr
    else:
        pid = int((server.pgdata / "postmaster.pid").read_text().splitlines()[0])
        os.kill(pid, signal.SIGKILL)


async def test_two_workers_live_through_five_immediate_stops_and_five_kills(
    server_dir: Path, start_worker: StartWorker, tcp_server: TcpPeer
) -> None:
    server = EmbeddedPostgres(server_dir)
    url = await create_database(await asyncio.to_thread(server.start), name="uptime")
    try:
        await asyncio.to_thread(migrations.upgrade, url)
        db = await asyncpg.connect(libpq_url(url))
        await insert_targets(
            db,
            [TargetSpec(kind="tcp", host="127.0.0.1", port=tcp_server.port, timeout_seconds=1)]
            * 20,
        )
        await db.close()
        workers = [start_worker(url, f"w{n}") for n in range(2)]
        await asyncio.gather(*(w.ready() for w in workers))

        for number, how in enumerate(OUTAGES, start=1):
            await asyncio.to_thread(take_down, server, how)
            # Down until both workers have met it (a statement failed), then back.
            noticed = await poll_until(
                lambda: asyncio.gather(*(metrics(w) for w in workers)),
                lambda samples: all(s["uptime_worker_database_up"] == 0 for s in samples),
                within=10,
            )
            assert all(s["uptime_worker_database_up"] == 0 for s in noticed), (number, how)
            await asyncio.to_thread(server.restart)
            back = time.monotonic()
            recorders = await recorders_since_now(url, len(workers))
            took = time.monotonic() - back
            for worker in workers:
                assert worker.process.poll() is None, f"outage {number}: exited\n{worker.output}"
            assert recorders == len(workers), f"outage {number} ({how}): not recording again"
            assert took < RECORDING_AGAIN_WITHIN_SECONDS
            # Each worker saw this outage end before the next one starts.
            ended = await poll_until(
                lambda: asyncio.gather(*(metrics(w) for w in workers)),
                lambda samples: all(s["uptime_worker_database_up"] == 1 for s in samples),
                within=10,
            )
            for worker, samples in zip(workers, ended, strict=True):
                assert worker.process.poll() is None, f"outage {number}: exited\n{worker.output}"
                assert samples["uptime_worker_database_up"] == 1, worker.output
                # One line when it started, one when it ended: no more, no less.
                assert worker.output.count(OUTAGE_STARTS) == number, worker.output
                assert worker.output.count(OUTAGE_ENDS) == number, worker.output

        assert [await w.stop() for w in workers] == [0, 0]
        for worker in workers:
            output = worker.output
            assert output.count(OUTAGE_STARTS) == len(OUTAGES), output
            assert output.count(OUTAGE_ENDS) == len(OUTAGES), output
            assert "Traceback" not in output, output
            assert "Failed to restore the pool connection" not in output, output
    finally:
        await asyncio.to_thread(server.stop)


# The trigger is made before the worker starts, and the disk is "filled" and "freed" by
# replacing its function: DDL on check_result while the worker inserts could deadlock with it.
WRITES_FUNCTION = """
CREATE OR REPLACE FUNCTION refuse_writes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {body}
END $$
"""
DISK_FULL = WRITES_FUNCTION.format(
    body="""RAISE EXCEPTION 'could not extend file "base/16384/16385": No space left on device'
        USING ERRCODE = 'disk_full', HINT = 'Check free disk space.';"""
)
DISK_FREE = WRITES_FUNCTION.format(body="RETURN NEW;")
WRITES_TRIGGER = """
CREATE TRIGGER disk_full BEFORE INSERT ON check_result
    FOR EACH ROW EXECUTE FUNCTION refuse_writes()
"""


async def test_a_database_that_cannot_write_is_an_outage_readyz_and_metrics_show(
    database_url: str, db: asyncpg.Connection, start_worker: StartWorker, tcp_server: TcpPeer
) -> None:
    # PostgreSQL's own answer to a full disk (SQLSTATE 53100, "could not extend file"), raised
    # by the server for every result the worker records.
    await db.execute(DISK_FREE)
    await db.execute(WRITES_TRIGGER)
    worker = start_worker(database_url, "w1")
    await worker.ready()
    await insert_targets(
        db, [TargetSpec(kind="tcp", host="127.0.0.1", port=tcp_server.port, timeout_seconds=1)] * 5
    )
    await poll_until(lambda: db.fetchval("SELECT count(*) FROM check_result"), bool, within=10)
    await db.execute(DISK_FULL)

    status, reason = await poll_until(lambda: readiness(worker), lambda r: r[0] == 503, within=10)
    assert status == 503
    assert reason.startswith("results cannot be written: DiskFullError: could not extend file")
    failing = await metrics(worker)
    assert failing["uptime_worker_database_writable"] == 0
    assert failing["uptime_worker_database_up"] == 0
    # It keeps trying (several statements more), without claiming more than it can record.
    statements = failing["uptime_worker_database_statements_total"]
    await poll_until(
        lambda: metrics(worker),
        lambda m: m["uptime_worker_database_statements_total"] >= statements + 4,
        within=15,
    )
    assert worker.process.poll() is None, worker.output
    recorded_while_full = await db.fetchval("SELECT count(*) FROM check_result")

    await db.execute(DISK_FREE)
    status, _ = await poll_until(lambda: readiness(worker), lambda r: r[0] == 200, within=10)
    assert status == 200
    assert (await metrics(worker))["uptime_worker_database_writable"] == 1
    more = await poll_until(
        lambda: db.fetchval("SELECT count(*) FROM check_result"),
        lambda count: count > recorded_while_full,
        within=RECORDING_AGAIN_WITHIN_SECONDS,
    )
    assert more > recorded_while_full
    assert await worker.stop() == 0
    output = worker.output
    assert output.count(OUTAGE_STARTS + "DiskFullError: could not extend file") == 1, output
    assert output.count(OUTAGE_STARTS) == 1, output
    assert output.count(OUTAGE_ENDS) == 1, output
    assert "Traceback" not in output, output
