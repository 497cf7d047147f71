"""Which database errors are outages (retried until they pass) and which are the statement's
own fault (retrying would repeat them): asyncpg's real errors from the test PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest

from tests.support.targets import TargetSpec, insert_targets
from uptime_core.enums import CheckStatus
from uptime_core.probes import ProbeResult
from uptime_core.runtime.db import is_outage, libpq_url
from uptime_core.scheduling.record import CheckOutcome, record_results


async def raised(operation: Awaitable[object]) -> BaseException:
    """The error ``operation`` raises (it must raise)."""
    with pytest.raises(Exception) as caught:
        await operation
    return caught.value


async def test_a_value_asyncpg_cannot_encode_is_not_an_outage(db: asyncpg.Connection) -> None:
    error = await raised(db.fetchval("SELECT $1::int4", 2**31))
    assert isinstance(error, asyncpg.exceptions.DataError), error
    assert "out of int32 range" in str(error)
    assert not is_outage(error)


async def test_a_bad_row_in_a_batch_of_results_is_not_an_outage(db: asyncpg.Connection) -> None:
    # The record statement's own path: one result whose HTTP status does not fit an int.
    [target_id] = await insert_targets(db, [TargetSpec(kind="tcp", host="127.0.0.1", port=9)])
    now = datetime.now(UTC)
    result = ProbeResult(CheckStatus.UP, latency_ms=1.0, http_status=2**31)
    outcome = CheckOutcome(target_id, now, now, now, result)
    error = await raised(record_results(db, "w1", [outcome]))
    assert isinstance(error, asyncpg.exceptions.DataError), error
    assert not is_outage(error)


async def test_the_wrong_number_of_arguments_is_not_an_outage(db: asyncpg.Connection) -> None:
    error = await raised(db.fetchval("SELECT $1::int4", 1, 2))
    assert type(error) is asyncpg.InterfaceError, error
    assert "the server expects 1 argument" in str(error)
    assert not is_outage(error)


async def test_a_bad_connection_setting_is_not_an_outage(database_url: str) -> None:
    error = await raised(asyncpg.connect(libpq_url(database_url), target_session_attrs="bogus"))
    assert isinstance(error, asyncpg.exceptions.ClientConfigurationError), error
    assert not is_outage(error)


async def test_a_bug_in_a_statement_is_not_an_outage(db: asyncpg.Connection) -> None:
    error = await raised(db.fetchval("SELECT no_such_column FROM target"))
    assert isinstance(error, asyncpg.exceptions.UndefinedColumnError), error
    assert not is_outage(error)


async def test_a_closed_connection_is_an_outage(database_url: str) -> None:
    connection = await asyncpg.connect(libpq_url(database_url))
    await connection.close()
    error = await raised(connection.fetchval("SELECT 1"))
    assert type(error) is asyncpg.InterfaceError, error
    assert is_outage(error)


async def test_a_backend_ended_by_the_server_is_an_outage(
    db: asyncpg.Connection, database_url: str
) -> None:
    victim = await asyncpg.connect(libpq_url(database_url))
    try:
        assert await db.fetchval("SELECT pg_terminate_backend($1)", victim.get_server_pid())
        error = await raised(victim.fetchval("SELECT 1"))
    finally:
        victim.terminate()
    # What a pooled connection meets after a restart, depending on how far the server's FATAL
    # message got: admin_shutdown (57P01), the lost connection, or asyncpg's protocol left in
    # the middle of an operation ("cannot switch to state 11; another operation (2) is in
    # progress").
    assert isinstance(
        error,
        asyncpg.exceptions.AdminShutdownError
        | asyncpg.ConnectionDoesNotExistError
        | asyncpg.exceptions.InternalClientError,
    ), error
    assert is_outage(error)


async def test_a_statement_timeout_is_an_outage(db: asyncpg.Connection) -> None:
    await db.execute("SET statement_timeout = 10")
    error = await raised(db.fetchval("SELECT pg_sleep(5)"))
    assert isinstance(error, asyncpg.exceptions.QueryCanceledError), error
    assert is_outage(error)


async def test_no_server_is_an_outage(tmp_path: Path) -> None:
    url = f"postgresql://postgres@/postgres?host={tmp_path}&port=5432"
    error = await raised(asyncpg.connect(url, timeout=5))
    assert isinstance(error, OSError), error
    assert is_outage(error)
    assert is_outage(await raised(asyncio.wait_for(asyncio.sleep(1), 0)))


def test_a_connection_broken_mid_protocol_is_an_outage() -> None:
    # What asyncpg raises on a pooled connection whose postmaster was killed (seen under
    # tests/worker/test_database_outage.py); no way to provoke it on demand, so its message
    # exactly as asyncpg's protocol state machine (coreproto.pyx) words it.
    broken = asyncpg.exceptions.InternalClientError(
        "cannot switch to state 15; another operation (12) is in progress"
    )
    assert is_outage(broken)
    # Its other errors are about the data: a malformed array from the server, a type whose
    # definition changed under a prepared statement.
    assert not is_outage(asyncpg.exceptions.ProtocolError("unexpected array dimensions value"))
    assert not is_outage(asyncpg.exceptions.OutdatedSchemaCacheError("cache lookup failed"))
