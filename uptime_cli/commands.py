"""The ``uptime`` command: run, api, worker, migrate, stats, targets, tokens, apply, export.

The API and worker packages are imported only by the commands that need them, so a worker
process never loads the GraphQL stack. The console script enters through
``uptime_cli.entry``, which makes SIGTERM and SIGINT raise ``Shutdown`` before this module is
imported.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import functools
import logging
import os
import socket
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime

import asyncpg
from pydantic import ValidationError

from uptime_cli import configuration, targets, tokens
from uptime_cli.supervisor import Child, stop_children, supervise
from uptime_core import __version__
from uptime_core.runtime.db import (
    DatabaseUnreachableError,
    describe_host,
    libpq_url,
    redact,
    unreachable,
)
from uptime_core.runtime.embedded import EmbeddedPostgres, EmbeddedPostgresError
from uptime_core.runtime.settings import ConfigurationError, Settings, get_settings, is_loopback
from uptime_core.runtime.signals import Shutdown, install_stop_handlers

log = logging.getLogger("uptime")


class UsageError(ConfigurationError):
    """A problem the person running the command can fix; printed as one line."""


def describe_settings_error(error: ValidationError) -> str:
    """One line naming each bad variable and what is wrong with it."""
    problems = []
    for item in error.errors():
        field = str(item["loc"][0]) if item["loc"] else "configuration"
        # pydantic names a field by its alias (DATABASE_URL) or by its name (api_port).
        variable = field if field.isupper() else f"UPTIME_{field.upper()}"
        problems.append(f"{variable} {item['msg'].removeprefix('Value error, ')}")
    return "invalid configuration: " + "; ".join(problems)


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # Alembic announces each of its plugins at INFO; that is noise for people running us.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    # httpx logs every request at INFO: one line per probe would drown everything else.
    logging.getLogger("httpx").setLevel(logging.WARNING)


# -- the database, given or embedded ---------------------------------------------------------


@contextlib.contextmanager
def database_server(settings: Settings) -> Iterator[tuple[str, EmbeddedPostgres | None]]:
    """The database URL to use and, when it is the embedded one, its server: DATABASE_URL, or
    the embedded server for the block's length."""
    if settings.database_url:
        yield settings.database_url, None
        return
    server = EmbeddedPostgres(settings.data_dir)
    log.info("no DATABASE_URL: starting the embedded PostgreSQL in %s", server.pgdata)
    url = server.start()
    try:
        yield url, server
    finally:
        server.stop()
        log.info("stopped the embedded PostgreSQL")


@contextlib.contextmanager
def database(settings: Settings) -> Iterator[str]:
    """The database URL to use: DATABASE_URL, or the embedded server for the block's length."""
    with database_server(settings) as (url, _):
        yield url


def require_database_url(settings: Settings, command: str) -> str:
    if not settings.database_url:
        raise UsageError(
            f"`uptime {command}` needs DATABASE_URL; set it, or use `uptime run`, which starts "
            "an embedded PostgreSQL"
        )
    return settings.database_url


def check_reachable(url: str, timeout: float) -> None:
    """Connect once, so a wrong URL fails with one clear line instead of a traceback."""

    async def connect() -> None:
        connection = await asyncpg.connect(libpq_url(url), timeout=timeout)
        await connection.close()

    try:
        asyncio.run(connect())
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
        raise unreachable(url, error) from None


def migrate_to_head(url: str, settings: Settings) -> None:
    """Bring the schema to the newest revision; says so when there was nothing to do."""
    from uptime_core.runtime import migrations

    check_reachable(url, settings.db_connect_timeout)

    async def current() -> str | None:
        connection = await asyncpg.connect(libpq_url(url), timeout=settings.db_connect_timeout)
        try:
            return await migrations.current_revision(connection)
        finally:
            await connection.close()

    head = migrations.head_revision()
    before = asyncio.run(current())
    if before == head:
        log.info("database at %s is current (revision %s); nothing to do", describe_host(url), head)
        return
    migrations.upgrade(url)
    log.info("migrated database at %s from %s to %s", describe_host(url), before or "empty", head)


def check_listen_address(host: str, settings: Settings) -> None:
    """Security by default: without a token, serve only this machine."""
    if settings.api_token is None and not is_loopback(host):
        raise UsageError(
            f"refusing to listen on {host} without a token: set UPTIME_API_TOKEN, or listen on "
            "127.0.0.1"
        )


# -- where the servers listen ------------------------------------------------------------------


@dataclass(frozen=True)
class Listen:
    """An address a command listens on: the settings, and the flags that set them."""

    host_field: str
    port_field: str
    port_flag: str
    host_flag: str | None = None

    @staticmethod
    def variable(field: str) -> str:
        return f"UPTIME_{field.upper()}"

    def flags(self) -> dict[str, tuple[str, str]]:
        """Flag -> (argparse dest, setting field)."""
        flags = {} if self.host_flag is None else {self.host_flag: ("host", self.host_field)}
        flags[self.port_flag] = ("port", self.port_field)
        return flags


API_ADDRESS = Listen("api_host", "api_port", port_flag="--port", host_flag="--host")
HEALTH_ADDRESS = Listen("worker_health_host", "worker_health_port", port_flag="--health-port")
LISTENS = {"run": API_ADDRESS, "api": API_ADDRESS, "worker": HEALTH_ADDRESS}


class CannotListenError(Exception):
    """The address is taken (or not ours): one line naming the flag and the variable."""


def check_can_listen(settings: Settings, listen: Listen) -> None:
    """Bind the address once, as uvicorn and the worker will, so a busy port is one line that
    says what to change instead of uvicorn's raw ``[Errno 98]``."""
    host, port = getattr(settings, listen.host_field), getattr(settings, listen.port_field)
    if port == 0:
        return  # any free port
    port_names = f"{listen.port_flag} or {listen.variable(listen.port_field)}"
    host_names = f"{listen.host_flag} or " if listen.host_flag else ""
    host_names += listen.variable(listen.host_field)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except socket.gaierror as error:
            raise CannotListenError(
                f"cannot listen on {host}: {error.strerror}; choose another address with "
                f"{host_names}"
            ) from None
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise CannotListenError(
                    f"port {port} on {host} is already in use; choose another with {port_names}"
                ) from None
            if error.errno == errno.EACCES:
                raise CannotListenError(
                    f"port {port} on {host} needs privileges this process lacks; choose "
                    f"another with {port_names}"
                ) from None
            raise CannotListenError(
                f"cannot listen on port {port} on {host} ({error.strerror}); choose another "
                f"address with {host_names}"
            ) from None


def port_number(text: str) -> int:
    if not text.isdigit() or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number from 0 to 65535")
    return int(text)


def add_listen_flags(parser: argparse.ArgumentParser, listen: Listen) -> None:
    """``--host``/``--port`` (or ``--health-port``), with the variable and default they replace."""
    for flag, (dest, field) in listen.flags().items():
        info = Settings.model_fields[field]
        what = (info.description or "").rstrip(".")
        parser.add_argument(
            flag,
            dest=dest,
            type=port_number if dest == "port" else str,
            metavar=dest.upper(),
            help=f"{what[:1].lower()}{what[1:]} (default: {listen.variable(field)}, "
            f"else {info.default})",
        )


def apply_listen_flags(args: argparse.Namespace, listen: Listen) -> None:
    """A flag overrides its variable: it is set in this process's environment, which every
    reader of the settings sees (the worker's address policy too) and `uptime run` passes on
    to its children."""
    for dest, field in listen.flags().values():
        value = getattr(args, dest, None)
        if value is not None:
            os.environ[listen.variable(field)] = str(value)


# -- the commands ------------------------------------------------------------------------------


def command_migrate(settings: Settings) -> int:
    with database(settings) as url:
        migrate_to_head(url, settings)
    return 0


def command_api(settings: Settings) -> int:
    url = require_database_url(settings, "api")
    check_listen_address(settings.api_host, settings)
    check_can_listen(settings, API_ADDRESS)
    from uptime_graphql.app import serve

    serve(settings, url)
    return 0


def command_worker(settings: Settings) -> int:
    url = require_database_url(settings, "worker")
    check_can_listen(settings, HEALTH_ADDRESS)
    from uptime_worker.main import run_worker

    return run_worker(settings, url)


def command_run(settings: Settings) -> int:
    """Database (embedded unless DATABASE_URL), migrations, then the API and one worker."""
    check_listen_address(settings.api_host, settings)
    with database_server(settings) as (url, server):
        migrate_to_head(url, settings)
        env = {**os.environ, "DATABASE_URL": url}
        children = [Child(name, env) for name in ("api", "worker")]
        # Started inside the try: a stop signal (Shutdown) between two starts still stops the
        # children started so far, before the database they use.
        try:
            for child in children:
                child.start()
            log.info(
                "serving http://%s:%d (API and UI) with one worker on %s; Ctrl-C stops everything",
                settings.api_host,
                settings.api_port,
                redact(url),
            )
            return supervise(children, server)
        finally:
            stop_children(children, settings.shutdown_grace_seconds)


ROLLUP_ADJECTIVES = {"hour": "hourly", "day": "daily"}


def command_stats_rebuild(settings: Settings, since: date) -> int:
    """Recompute rollups from raw results since ``since`` and say what differed."""
    from uptime_core.stats.rollups import rebuild_rollups

    async def rebuild(url: str) -> None:
        connection = await asyncpg.connect(libpq_url(url), timeout=settings.db_connect_timeout)
        try:
            start = datetime.combine(since, datetime.min.time(), tzinfo=UTC)
            for report in await rebuild_rollups(connection, start):
                adjective = ROLLUP_ADJECTIVES.get(report.period, report.period)
                print(
                    f"{adjective} rollups from {report.since:%Y-%m-%d}: "
                    f"{report.buckets} buckets recomputed from raw results, "
                    f"{report.differed} differed from the stored ones"
                    + (" (now replaced)" if report.differed else "")
                )
        finally:
            await connection.close()

    with database(settings) as url:
        check_reachable(url, settings.db_connect_timeout)
        asyncio.run(rebuild(url))
    return 0


def iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2026-11-01") from None


COMMANDS = {
    "run": (command_run, "database (embedded unless DATABASE_URL), migrations, API and a worker"),
    "api": (command_api, "serve the GraphQL API and the UI"),
    "worker": (command_worker, "run a worker that checks targets"),
    "migrate": (command_migrate, "bring the database schema up to date"),
}


def build_parser() -> argparse.ArgumentParser:
    """The ``uptime`` command's arguments: every command and its flags."""
    parser = argparse.ArgumentParser(prog="uptime", description="Self-hosted uptime monitor.")
    parser.add_argument("--version", action="version", version=f"uptime {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (_, help_text) in COMMANDS.items():
        command_parser = sub.add_parser(name, help=help_text, description=help_text)
        if name in LISTENS:
            add_listen_flags(command_parser, LISTENS[name])
    stats = sub.add_parser("stats", help="maintain the statistics").add_subparsers(
        dest="stats_command", required=True, metavar="STATS_COMMAND"
    )
    rebuild = stats.add_parser(
        "rebuild",
        help="recompute hourly and daily rollups from raw results and report differences",
    )
    rebuild.add_argument(
        "--since",
        type=iso_date,
        required=True,
        metavar="DATE",
        help="first UTC day to recompute (YYYY-MM-DD)",
    )
    targets.add_parser(sub)
    tokens.add_parser(sub)
    configuration.add_parsers(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """The ``uptime`` command (the console script enters through ``uptime_cli.entry``)."""
    install_stop_handlers()
    args = build_parser().parse_args(argv)
    if args.command in LISTENS:
        apply_listen_flags(args, LISTENS[args.command])

    try:
        settings = get_settings()
    except ValidationError as error:
        print(f"uptime: error: {describe_settings_error(error)}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level)

    if args.command == "stats":
        command: Callable[[Settings], int] = functools.partial(
            command_stats_rebuild, since=args.since
        )
    elif args.command == "targets":
        return targets.run(args, settings)
    elif args.command == "tokens":
        return tokens.run(args, settings)
    elif args.command == "apply":
        return configuration.run_apply(args, settings)
    elif args.command == "export":
        return configuration.run_export(args, settings)
    else:
        command = COMMANDS[args.command][0]
    # Until a command takes the stop signals over (the worker's loop, uvicorn), they raise
    # Shutdown (uptime_core.runtime.signals): the command unwinds, stopping what it started (the
    # embedded database), and the exit code is 0.
    try:
        if args.command == "run":
            # Before the database and the children start (command_run itself checks no port:
            # tests/deploy/test_same_commands.py runs it with the default one).
            check_listen_address(settings.api_host, settings)
            check_can_listen(settings, API_ADDRESS)
        return command(settings)
    except Shutdown as stop:
        log.info("%s received; stopped", stop)
        return 0
    except ConfigurationError as error:
        print(f"uptime: error: {error}", file=sys.stderr)
        return 2
    except (
        CannotListenError,
        DatabaseUnreachableError,
        EmbeddedPostgresError,
        ValueError,
    ) as error:
        print(f"uptime: error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
