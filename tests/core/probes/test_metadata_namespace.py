"""The cloud metadata address, for real but only inside a network namespace this test creates:
169.254.169.254 is given to that namespace's loopback interface, a fake metadata server there
serves a fake `SecretAccessKey`, and the probes, a webhook send and an `uptime worker` run
inside it (tests/core/probes/metadata_lab.py). Nothing is ever sent to 169.254.169.254 in the
host's namespace. The worker reaches the test PostgreSQL through its Unix socket."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from tests.core.probes.metadata_lab import (
    CREDENTIALS_PATH,
    HOST_SPELLINGS,
    HTTP_SPELLINGS,
    METADATA,
    OWN_ADDRESS,
    READ_SECRET,
    SECRET,
)
from tests.support.targets import TargetSpec, insert_targets
from tests.support.wait import poll_until

REPO = Path(__file__).resolve().parents[3]
LAB_SCRIPT = Path(__file__).with_name("metadata_lab.py")
BLOCKED = "is in a blocked network (169.254.0.0/16, UPTIME_BLOCKED_NETWORKS)"
REFUSED = f"{METADATA} {BLOCKED}"


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True)


@pytest.fixture(scope="module")
def metadata_namespace() -> Iterator[str]:
    """A namespace whose loopback interface holds the metadata address; nothing else."""
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.skip("network namespaces need root and iproute2 (`ip`)")
    namespace = f"uptime-metadata-{os.getpid()}"
    try:
        _ip("netns", "add", namespace)
    except subprocess.CalledProcessError as exc:
        pytest.skip(f"cannot create a network namespace: {exc.stderr.strip()}")
    try:
        _ip("-n", namespace, "link", "set", "lo", "up")
        _ip("-n", namespace, "addr", "add", f"{METADATA}/32", "dev", "lo")
        _ip("-n", namespace, "addr", "add", f"{OWN_ADDRESS}/32", "dev", "lo")
        yield namespace
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):
            _ip("netns", "del", namespace)


def _environment(**settings: str) -> dict[str, str]:
    """This process's environment without any UPTIME_ setting, plus `settings`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("UPTIME_")}
    env.pop("DATABASE_URL", None)
    return {**env, **settings}


def _in_namespace(namespace: str, *command: str) -> list[str]:
    return ["ip", "netns", "exec", namespace, *command]


def _start_in_namespace(namespace: str, *command: str, **popen: Any) -> subprocess.Popen[Any]:
    """Start `command` inside `namespace`, from the checkout, as a synchronous helper."""
    return subprocess.Popen(_in_namespace(namespace, *command), cwd=REPO, **popen)


def _run_lab(namespace: str, mode: str = "probe", **settings: str) -> dict[str, Any]:
    completed = subprocess.run(
        _in_namespace(namespace, sys.executable, str(LAB_SCRIPT), mode),
        env=_environment(**settings),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr
    report: dict[str, Any] = json.loads(completed.stdout)
    return report


def _longest_quote(text: str, secret: str = SECRET) -> int:
    """The length of the longest piece of `secret` that `text` contains."""
    longest = 0
    for start in range(len(secret)):
        while start + longest < len(secret) and secret[start : start + longest + 1] in text:
            longest += 1
    return longest


def test_metadata_address_is_blocked_in_every_spelling(metadata_namespace: str) -> None:
    report = _run_lab(metadata_namespace)
    results = report["results"]

    for name in [*HTTP_SPELLINGS, "redirect"]:
        status, kind, message, _ = results[f"http {name}"]
        assert (status, kind) == ("down", "blocked"), (name, message)
        assert METADATA in message and message.endswith(BLOCKED), (name, message)
        assert _longest_quote(message) < 8, (name, message)
    for probe_kind in ("tcp", "icmp"):
        for name in HOST_SPELLINGS:
            status, kind, message, address = results[f"{probe_kind} {name}"]
            assert (status, kind) == ("down", "blocked"), (probe_kind, name, message)
            assert METADATA in message and message.endswith(BLOCKED), (probe_kind, name)
            assert address is not None
    for name in HTTP_SPELLINGS:
        error, permanent = results[f"webhook {name}"]
        assert permanent is True, (name, error)
        assert METADATA in error and error.endswith(BLOCKED), (name, error)
        assert CREDENTIALS_PATH not in error
    # An allowed address in the same namespace still works.
    for name in ("http loopback", "tcp loopback", "icmp loopback"):
        assert results[name][:3] == ["up", None, None], (name, results[name])
    assert report["metadata_connections"] == 0


def test_allowed_networks_re_allow_the_metadata_address(metadata_namespace: str) -> None:
    report = _run_lab(metadata_namespace, UPTIME_ALLOWED_NETWORKS=f"{METADATA}/32")
    results = report["results"]

    # The fake server is there and reachable once allowed: the refusals above are the policy's.
    status, kind, message, address = results["http dotted"]
    assert (status, kind, address) == ("down", "json_assertion", METADATA), message
    # Even then a message quotes at most 64 characters of what the target answered.
    assert 8 < _longest_quote(message) <= 64, message
    assert results["tcp dotted"][:2] == ["up", None]
    assert results["icmp dotted"][:2] == ["up", None]
    assert report["metadata_connections"] > 0


def test_the_health_port_on_the_machines_own_address_is_refused(metadata_namespace: str) -> None:
    # The health endpoint listens on every interface; OWN_ADDRESS is not loopback, but a
    # connection to it from here has the same address at both ends.
    report = _run_lab(
        metadata_namespace,
        "own-address",
        UPTIME_WORKER_HEALTH_HOST="0.0.0.0",
        UPTIME_WORKER_HEALTH_PORT="8001",
    )
    results = report["results"]

    for name in ("http health", "tcp health"):
        status, kind, message, _ = results[name]
        assert (status, kind) == ("down", "blocked"), (name, message)
        assert message == (
            f"{OWN_ADDRESS} is where this worker's health endpoint listens on port 8001 "
            "(UPTIME_WORKER_HEALTH_HOST, UPTIME_WORKER_HEALTH_PORT)"
        )
    assert results["http other"][:2] == ["up", None]
    assert results["tcp other"][:2] == ["up", None]
    # The HTTP probe connected (that is how it saw both ends) but sent no request.
    assert report["health_requests"] == 0


async def test_a_worker_in_the_namespace_records_blocked_without_the_secret(
    metadata_namespace: str, database_url: str, db: asyncpg.Connection, tmp_path: Path
) -> None:
    server = _start_in_namespace(
        metadata_namespace,
        sys.executable,
        str(LAB_SCRIPT),
        "serve",
        env=_environment(),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdin is not None and server.stdout is not None
    log_path = tmp_path / "worker.log"
    worker: subprocess.Popen[Any] | None = None
    try:
        assert await asyncio.to_thread(server.stdout.readline) == "ready\n"
        url = f"http://{METADATA}{CREDENTIALS_PATH}"
        spec = TargetSpec("http", url=url, options=READ_SECRET, failure_threshold=1)
        [target_id] = await insert_targets(db, [spec])
        with log_path.open("w") as log:
            worker = _start_in_namespace(
                metadata_namespace,
                *(sys.executable, "-m", "uptime_cli", "worker"),
                env=_environment(DATABASE_URL=database_url, UPTIME_WORKER_ID="metadata"),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

        async def recorded() -> list[asyncpg.Record]:
            rows: list[asyncpg.Record] = await db.fetch(
                "SELECT c.*, c::text AS whole FROM check_result AS c WHERE target_id = $1",
                target_id,
            )
            return rows

        rows = await poll_until(recorded, lambda rows: len(rows) >= 2, within=60)
        assert rows, log_path.read_text()
        for row in rows:
            assert (row["status"], row["error_kind"]) == ("down", "blocked"), row["message"]
            assert row["message"] == REFUSED
            assert _longest_quote(row["whole"]) < 8
        incidents = await db.fetch("SELECT i::text AS whole FROM incident AS i")
        assert all(_longest_quote(incident["whole"]) < 8 for incident in incidents)
    finally:
        if worker is not None:
            worker.terminate()
            await asyncio.to_thread(worker.wait, 30)
        server.stdin.close()
        served = json.loads(await asyncio.to_thread(server.stdout.read) or "{}")
        server.stdout.close()
        await asyncio.to_thread(server.wait, 10)
    assert served == {"metadata_connections": 0}
