"""The embedded PostgreSQL: a server in the data directory, from the binaries pgserver ships.

Used when no ``DATABASE_URL`` is set. The server listens only on a Unix socket inside its own
0700 data directory, so ``trust`` authentication reaches nobody but this machine's owner of
that directory (and root). One process at a time owns a data directory (an ``flock``); a
server left running by a process that was killed with SIGKILL is adopted by the next one.
``uptime run`` asks ``is_running`` a few times a second and ``restart``s a server that died.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib.util
import logging
import os
import pwd
import subprocess
import tempfile
import time
from pathlib import Path
from typing import IO, Any

log = logging.getLogger(__name__)

# PostgreSQL refuses to run as root; as root we run it as this system user.
SYSTEM_USER = "uptime-postgres"
SUPERUSER = "postgres"
PORT = 5432  # names the socket file only: the server opens no TCP port
_MAX_SOCKET_PATH = 100  # sun_path is 108 bytes on Linux; keep a margin
# After a crash (kill -9 of the postmaster) its orphaned backends hold the shared memory for a
# moment, and a new postmaster refuses to start until they are gone: keep trying this long.
RESTART_WITHIN_SECONDS = 60.0
RESTART_RETRY_SECONDS = 0.5
# A stop is a fast shutdown (sessions ended, a shutdown checkpoint: well under a second here,
# even on a busy machine) given this long; then an immediate one (no checkpoint: the next
# start replays the WAL, losing nothing committed), which PostgreSQL itself ends with SIGKILL
# to any child still there after 5 s; then SIGKILL to the postmaster. Whole seconds: pg_ctl -t.
FAST_STOP_SECONDS = 3
IMMEDIATE_STOP_SECONDS = 10


class EmbeddedPostgresError(RuntimeError):
    """The embedded server could not be started or stopped; the message says what to do."""


def binaries_dir() -> Path:
    """Where pgserver's PostgreSQL binaries are installed (found without importing pgserver,
    whose import has side effects we do not want: runtime directories, lock files)."""
    spec = importlib.util.find_spec("pgserver")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedPostgresError(
            "the pgserver package is not installed; reinstall uptime, or set DATABASE_URL"
        )
    return Path(spec.submodule_search_locations[0]) / "pginstall" / "bin"


class EmbeddedPostgres:
    """A PostgreSQL server kept in ``data_dir/postgres``, started and stopped by this process."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir.expanduser().resolve()
        self.pgdata = self.data_dir / "postgres"
        self.bin = binaries_dir()
        self._lock_file: IO[str] | None = None
        self._run_as: pwd.struct_passwd | None = None
        self.socket_dir: Path | None = None

    @property
    def url(self) -> str:
        """The libpq-style URL of the running server (Unix socket)."""
        if self.socket_dir is None:
            raise EmbeddedPostgresError("the embedded PostgreSQL is not running")
        return f"postgresql://{SUPERUSER}@/postgres?host={self.socket_dir}&port={PORT}"

    def start(self) -> str:
        """Initialise the data directory if new, start (or adopt) the server, return its URL."""
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise EmbeddedPostgresError(
                f"cannot create the data directory {self.data_dir} ({error.strerror}); set "
                "UPTIME_DATA_DIR to a directory this user may write, or set DATABASE_URL"
            ) from None
        self._take_lock()
        try:
            self._prepare_user()
            if not (self.pgdata / "PG_VERSION").exists():
                self._initdb()
            running = self._running_socket_dir()
            if running is not None:
                log.info("adopting the PostgreSQL already running in %s", self.pgdata)
                self.socket_dir = running
            else:
                self._start_server()
        except BaseException:
            # Interrupted (Ctrl-C) or failed half-way: leave no server behind.
            self.stop()
            raise
        return self.url

    def is_running(self) -> bool:
        """Whether a postmaster lives on this data directory (cheap: no subprocess)."""
        try:
            pid = int((self.pgdata / "postmaster.pid").read_text().splitlines()[0])
        except (OSError, ValueError, IndexError):
            return False
        return _alive(pid)

    def restart(self) -> str:
        """Start the server again after it died (crashed, killed, stopped behind our back),
        keeping this process's hold on the data directory; its URL (the same as before)."""
        deadline = time.monotonic() + RESTART_WITHIN_SECONDS
        while True:
            if self.is_running():  # someone else started it meanwhile
                self.socket_dir = self._running_socket_dir() or self.socket_dir
                return self.url
            try:
                self._start_server()
                return self.url
            except EmbeddedPostgresError:
                if time.monotonic() > deadline:
                    raise
            time.sleep(RESTART_RETRY_SECONDS)

    def stop(self) -> None:
        """Stop the server (fast shutdown: open sessions are ended; immediate if that takes
        more than a few seconds) and release the directory."""
        try:
            if self._running_socket_dir() is not None:
                for mode, wait in (
                    ("fast", FAST_STOP_SECONDS),
                    ("immediate", IMMEDIATE_STOP_SECONDS),
                ):
                    stop = ("stop", "-D", str(self.pgdata), "-m", mode, "-w", "-t", str(wait))
                    if self._pg("pg_ctl", *stop).returncode == 0:
                        break
                else:
                    self._kill_postmaster()
        finally:
            self.socket_dir = None
            self._release_lock()

    # -- the steps -------------------------------------------------------------------------

    def _take_lock(self) -> None:
        lock_path = self.data_dir / "uptime.lock"
        handle = lock_path.open("a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise EmbeddedPostgresError(
                f"the data directory {self.data_dir} is in use by {holder}; stop it first, "
                "or set UPTIME_DATA_DIR to another directory"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}\n")
        handle.flush()
        self._lock_file = handle

    def _release_lock(self) -> None:
        if self._lock_file is not None:
            self._lock_file.close()
            self._lock_file = None

    def _prepare_user(self) -> None:
        """As root, make a system user that owns the data directory and runs the server."""
        if os.geteuid() != 0:
            return
        try:
            entry = pwd.getpwnam(SYSTEM_USER)
        except KeyError:
            try:
                subprocess.run(
                    [
                        "useradd",
                        "--system",
                        "--no-create-home",
                        "--shell",
                        "/usr/sbin/nologin",
                        SYSTEM_USER,
                    ],
                    check=True,
                    capture_output=True,
                )
            except (OSError, subprocess.CalledProcessError) as error:
                raise EmbeddedPostgresError(
                    f"PostgreSQL cannot run as root and creating the user {SYSTEM_USER} failed "
                    f"({error}); run uptime as an ordinary user, or set DATABASE_URL"
                ) from None
            entry = pwd.getpwnam(SYSTEM_USER)
        self._run_as = entry
        self.pgdata.mkdir(mode=0o700, exist_ok=True)
        os.chown(self.pgdata, entry.pw_uid, entry.pw_gid)
        # The server's user must be able to reach its binaries and its data directory.
        grant_traverse(self.pgdata)
        grant_traverse(self.bin)

    def _initdb(self) -> None:
        log.info("initialising a new PostgreSQL data directory in %s", self.pgdata)
        # initdb writes PG_VERSION early: one interrupted (a stop right after the first start)
        # would leave a directory that looks initialised. Build it aside, then rename it in.
        fresh = self.data_dir / "postgres.initdb"
        if fresh.exists():
            subprocess.run(["rm", "-rf", "--", str(fresh)], check=False)
        fresh.mkdir(mode=0o700)
        if self._run_as is not None:
            os.chown(fresh, self._run_as.pw_uid, self._run_as.pw_gid)
        result = self._pg(
            "initdb",
            "-D",
            str(fresh),
            "-U",
            SUPERUSER,
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C.UTF-8",
            "--no-instructions",
        )
        if result.returncode != 0:
            raise EmbeddedPostgresError(
                f"initdb failed in {self.pgdata}: {_last_line(result.stderr)}; check that the "
                "directory is writable"
            )
        try:
            fresh.rename(self.pgdata)  # replaces an empty directory
        except OSError as error:
            raise EmbeddedPostgresError(
                f"cannot initialise {self.pgdata} ({error.strerror}); it should be empty or absent"
            ) from None

    def _start_server(self) -> None:
        socket_dir = self._choose_socket_dir()
        log_file = self.pgdata / "log" / "postgres.log"
        log_file.parent.mkdir(exist_ok=True)
        if self._run_as is not None:
            os.chown(log_file.parent, self._run_as.pw_uid, self._run_as.pw_gid)
        options = (
            f"-c listen_addresses='' -k {socket_dir} -p {PORT} -c unix_socket_permissions=0700 "
            "-c max_connections=200"
        )
        result = self._pg(
            "pg_ctl",
            "start",
            "-D",
            str(self.pgdata),
            "-w",
            "-t",
            "60",
            "-l",
            str(log_file),
            "-o",
            options,
        )
        if result.returncode != 0:
            raise EmbeddedPostgresError(
                f"PostgreSQL did not start in {self.pgdata}: {_last_line(result.stderr)}; "
                f"see {log_file}"
            )
        self.socket_dir = socket_dir

    def _choose_socket_dir(self) -> Path:
        if len(str(self.pgdata / f".s.PGSQL.{PORT}")) <= _MAX_SOCKET_PATH:
            return self.pgdata
        # A deep data directory cannot hold the socket: use a short private one instead.
        digest = hashlib.sha256(str(self.pgdata).encode()).hexdigest()[:12]
        short = Path(tempfile.gettempdir()) / f"uptime-pg-{digest}"
        short.mkdir(mode=0o700, exist_ok=True)
        if self._run_as is not None:
            os.chown(short, self._run_as.pw_uid, self._run_as.pw_gid)
        return short

    def _running_socket_dir(self) -> Path | None:
        """The socket directory of a live server on this data directory, or None."""
        if self._pg("pg_ctl", "status", "-D", str(self.pgdata)).returncode != 0:
            return None
        lines = (self.pgdata / "postmaster.pid").read_text().splitlines()
        return Path(lines[4]) if len(lines) > 4 and lines[4] else None

    def _kill_postmaster(self) -> None:
        with contextlib.suppress(FileNotFoundError, ValueError, ProcessLookupError):
            pid = int((self.pgdata / "postmaster.pid").read_text().splitlines()[0])
            os.kill(pid, 9)

    def _pg(self, program: str, *args: str) -> subprocess.CompletedProcess[str]:
        kwargs: dict[str, Any] = {}
        if self._run_as is not None:
            kwargs.update(user=self._run_as.pw_uid, group=self._run_as.pw_gid, extra_groups=[])
        # pg_ctl leaves the server holding its stdout: never capture through a pipe it keeps.
        with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
            process = subprocess.run(
                [str(self.bin / program), *args],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                text=True,
                check=False,
                cwd="/",
                **kwargs,
            )
            out.seek(0)
            err.seek(0)
            return subprocess.CompletedProcess(
                process.args, process.returncode, out.read(), err.read()
            )


def _alive(pid: int) -> bool:
    """Whether process ``pid`` runs; a zombie (exited, not yet reaped) does not."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, under another user
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no /proc: trust kill(0)
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def grant_traverse(path: Path) -> None:
    """Let other users pass through the directories above ``path`` (x, never read), as they
    can on a stock Debian system; needed when a root-owned tree holds what another user runs."""
    for parent in path.parents:
        mode = parent.stat().st_mode
        if mode & 0o001 == 0:
            parent.chmod(mode | 0o001)


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no output"
