"""`uptime run` (what `make run` starts): embedded database, migrations, API and worker;
one signal stops everything and leaves no server process behind; the data persists; a
database that dies is started again while the API and the worker keep running.

Each test gets a data directory of its own (``data_dir``); what the files share is in
support.py."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from uptime_core.runtime.embedded import EmbeddedPostgres


@pytest.fixture
def data_dir() -> Iterator[Path]:
    # Not under pytest's tmp_path: another pytest run resets its base directory to 0700,
    # which locks out the embedded server's own user (when the tests run as root).
    parent = Path(tempfile.mkdtemp(prefix="uptime-run-"))
    path = parent / "data"
    yield path
    # Whatever happened in the test, leave no server behind.
    if (path / "postgres" / "PG_VERSION").exists():
        server = EmbeddedPostgres(path)
        if server._running_socket_dir() is not None:
            server.start()
            server.stop()
    shutil.rmtree(parent, ignore_errors=True)
