"""Database access: the asyncpg pool every process uses, an engine for Alembic comparisons,
connection errors people can act on, and which errors mean "the database is away"."""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import parse_qs, urlsplit

import asyncpg
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from uptime_core.runtime.settings import Settings


class DatabaseUnreachableError(RuntimeError):
    """The database could not be reached; ``str()`` is one line naming the host and the fix."""


# Errors that say nothing about the statement and everything about the database: it is down,
# restarting, unreachable, or cannot write. They are outages, retried until they pass.
#   - the socket: OSError (refused, reset, no socket file) and TimeoutError;
#   - SQLSTATE class 08, connection exception (PostgresConnectionError), which includes
#     asyncpg's ConnectionDoesNotExistError: the connection was closed mid-query;
#   - class 57, operator intervention: admin_shutdown (a fast or immediate stop),
#     crash_shutdown (another backend crashed, or the postmaster was killed),
#     cannot_connect_now (starting up, in recovery), query_canceled (statement timeout);
#   - class 53, insufficient resources: disk_full ("could not extend file"), out of memory,
#     too many connections;
#   - class 58, system error: I/O errors reading or writing data files;
#   - 25006, read-only transaction: a standby after a failover, or a read-only database.
OUTAGE_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.InsufficientResourcesError,
    asyncpg.exceptions.PostgresSystemError,
    asyncpg.exceptions.ReadOnlySQLTransactionError,
)

# asyncpg's client-side errors are outages only when they say the connection is unusable;
# the rest of InterfaceError ("the server expects N arguments", ClientConfigurationError, the
# Unsupported*Errors, "pool is closed", the interface DataError) and of InternalClientError
# (ProtocolError, OutdatedSchemaCacheError, codec failures) are about the statement, its data
# or this process, and retrying them would only repeat them: a worker retrying one batch
# forever would claim nothing more. (An argument asyncpg cannot encode, such as an int out of
# int32 range, is the SQLSTATE class 22 DataError, never an outage.) The messages are
# asyncpg's own (0.30+):
#   - InterfaceError "connection is closed" (connection.py, protocol.pyx): used after close;
#   - InternalClientError from the protocol's state machine (coreproto.pyx): "cannot switch
#     to state 15; another operation (12) is in progress", 'cannot switch to "idle" state',
#     "cannot process message", "not connected": a connection whose server went away
#     mid-protocol, as after a postmaster is killed.
_CLOSED_CONNECTION_MESSAGES = ("connection is closed",)
_BROKEN_PROTOCOL_MESSAGES = (
    "cannot switch to state ",
    'cannot switch to "idle" state',
    "cannot process message ",
    "not connected",
)


def is_outage(error: BaseException) -> bool:
    """Whether ``error`` means the database is away or cannot write (retry until it passes),
    rather than a bug in a statement or a value it cannot take (retrying would repeat it)."""
    if isinstance(error, OUTAGE_ERRORS):
        return True
    message = str(error)
    if type(error) is asyncpg.InterfaceError:
        return message.endswith(_CLOSED_CONNECTION_MESSAGES)
    if type(error) is asyncpg.exceptions.InternalClientError:
        return message.startswith(_BROKEN_PROTOCOL_MESSAGES)
    return False


def describe_error(error: BaseException) -> str:
    """``ClassName: first line of the message``, for one-line log messages."""
    text = " ".join(str(error).split())
    name = type(error).__name__
    return f"{name}: {text[:200]}" if text else name


def async_url(url: str) -> str:
    """The SQLAlchemy URL for asyncpg, from any ``postgres://``/``postgresql://`` URL."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.split("+")[0] not in ("postgres", "postgresql"):
        raise ValueError(f"DATABASE_URL must start with postgresql://, not {scheme + sep or url!r}")
    return f"postgresql+asyncpg://{rest}"


def libpq_url(url: str) -> str:
    """The plain ``postgresql://`` form of a URL (for asyncpg.connect, psql and logs)."""
    return "postgresql://" + url.partition("://")[2]


def describe_host(url: str) -> str:
    """Where a URL points, for messages: ``host:port`` or the Unix socket directory."""
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    host = parts.hostname or (query.get("host") or [""])[0] or "localhost"
    port = parts.port or int((query.get("port") or ["5432"])[0])
    return f"{host}:{port}" if not host.startswith("/") else f"socket {host}/.s.PGSQL.{port}"


def redact(url: str) -> str:
    """The URL with its password hidden, safe for logs."""
    return (
        make_url(async_url(url))
        .render_as_string(hide_password=True)
        .replace("postgresql+asyncpg://", "postgresql://", 1)
    )


def unreachable(url: str, error: BaseException) -> DatabaseUnreachableError:
    """Turn a connection failure into one line that names the host and says what to check."""
    where = describe_host(url)
    reason: str
    if isinstance(error, socket.gaierror):
        reason = "the host name does not resolve; check the host in DATABASE_URL"
    elif isinstance(error, ConnectionRefusedError | FileNotFoundError):
        reason = "connection refused; check that PostgreSQL is running and DATABASE_URL's port"
    elif isinstance(error, TimeoutError):
        reason = "no answer in time; check the host, the port and any firewall between"
    else:
        text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        reason = f"{text}; check DATABASE_URL (user, password, database name)"
    return DatabaseUnreachableError(f"cannot reach PostgreSQL at {where}: {reason}")


def create_engine(url: str, settings: Settings) -> AsyncEngine:
    """An async engine for ``url`` sized by the settings."""
    return create_async_engine(
        async_url(url),
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_pool_size,
        pool_pre_ping=True,
        connect_args={"timeout": settings.db_connect_timeout},
    )


STATEMENT_CACHE_BYTES = 256 * 1024
sql_log = logging.getLogger("uptime.sql")


def _log_statement(query: asyncpg.connection.LoggedQuery) -> None:
    sql_log.debug("%.1f ms: %s", query.elapsed * 1000, " ".join(query.query.split())[:300])


async def _init_connection(connection: asyncpg.Connection) -> None:
    # JSONB in and out as Python objects rather than text.
    await connection.set_type_codec(
        "jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog"
    )
    if sql_log.isEnabledFor(logging.DEBUG):
        # With UPTIME_LOG_LEVEL=debug every statement is logged, with its duration.
        connection.add_query_logger(_log_statement)


async def create_pool(url: str, settings: Settings, *, connect_now: bool = True) -> asyncpg.Pool:
    """The asyncpg pool a process uses for its queries. ``connect_now=False`` opens no
    connection until the first query (the API starts, and says it is not ready, without its
    database)."""
    pool = await asyncpg.create_pool(
        libpq_url(url),
        # No floor of connections: asyncpg keeps a floor by reconnecting in the background and
        # logs a traceback at WARNING for every failed try (asyncpg.pool, "Failed to restore
        # the pool connection floor"), once a second during an outage. Connections are made
        # when a query needs one, and the caller sees (and logs once) the outage instead.
        min_size=0,
        max_size=settings.db_pool_size,
        timeout=settings.db_connect_timeout,
        # No statement of the worker's should take long; one that hangs (a half-open
        # connection) fails and is retried instead of stalling the loop.
        command_timeout=30,
        # The statistics query is ~20 kB; asyncpg would not keep it prepared past 15 kB, and
        # planning it again on every call costs more than running it.
        max_cacheable_statement_size=STATEMENT_CACHE_BYTES,
        init=_init_connection,
    )
    assert pool is not None
    if connect_now:
        try:
            async with pool.acquire():
                pass  # one connection now, kept in the pool: fail here if the URL is wrong
        except BaseException:
            pool.terminate()
            raise
    return pool


@asynccontextmanager
async def acquired(
    source: asyncpg.Connection | asyncpg.Pool,
) -> AsyncIterator[asyncpg.Connection]:
    """A connection from ``source``: one of the pool's for the block, or the connection given
    (so that a function taking either can run inside its caller's transaction)."""
    if isinstance(source, asyncpg.Pool):
        async with source.acquire() as connection:
            yield connection
    else:
        yield source
