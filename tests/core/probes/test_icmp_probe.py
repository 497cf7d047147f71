"""The ICMP probe: raw sockets as root here, datagram sockets and the permission error in a
subprocess that drops root inside a network namespace whose ping sysctl the test sets."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.peers import Lab, Target
from uptime_core.enums import CheckStatus, ErrorKind
from uptime_core.probes import probe
from uptime_core.probes.icmp import PERMISSION_HINT, open_icmp_socket

REPO = Path(__file__).resolve().parents[3]
NOBODY = 65534

# Started as root inside the namespace: imports everything and runs one probe first (so that
# nothing is left to import lazily), then drops to `nobody` for good and prints the socket type
# the probe would use and a result per address. Dropping privileges after the imports, rather
# than exec'ing the interpreter as `nobody`, works wherever the checkout and interpreter live
# (a fresh machine keeps them under /root, which `nobody` cannot enter) and changes no file.
UNPRIVILEGED_PROBE = f"""
import asyncio, json, os, socket, sys
sys.path.insert(0, {str(REPO)!r})
from uptime_core.probes import probe
from uptime_core.probes.icmp import open_icmp_socket

class Target:
    kind, url, port, timeout_seconds, options = "icmp", None, None, 2.0, {{}}
    def __init__(self, host): self.host = host

def run_all():
    return {{host: asyncio.run(probe(Target(host))) for host in ("127.0.0.1", "::1")}}

run_all()
os.setgroups([]); os.setgid({NOBODY}); os.setuid({NOBODY})
assert os.getuid() == os.geteuid() == {NOBODY}
try:
    with open_icmp_socket(socket.AF_INET) as sock:
        kind = "raw" if sock.type == socket.SOCK_RAW else "datagram"
except Exception as exc:
    kind = type(exc).__name__
results = {{host: [result.status.value, result.error_kind and result.error_kind.value,
                   result.message, result.latency_ms] for host, result in run_all().items()}}
print(json.dumps({{"socket": kind, "results": results}}))
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="raw ICMP sockets need root")
async def test_root_uses_a_raw_socket() -> None:
    with open_icmp_socket(socket.AF_INET6) as sock:
        assert sock.type == socket.SOCK_RAW


@pytest.mark.parametrize("host", ["127.0.0.1", "::1"])
async def test_echo_to_loopback_is_up(host: str) -> None:
    result = await probe(Target("icmp", host=host))

    assert result.status is CheckStatus.UP, result.message
    assert result.resolved_address == host
    assert result.latency_ms is not None and 0 < result.latency_ms < 1000


async def test_name_that_cannot_resolve_is_dns() -> None:
    result = await probe(Target("icmp", host="no-such-host.invalid"))

    assert result.error_kind is ErrorKind.DNS


async def _run_in_lab(lab: Lab, ping_group_range: str) -> dict[str, Any]:
    sysctl = await asyncio.create_subprocess_exec(
        *("ip", "netns", "exec", lab.namespace, "sysctl", "-qw"),
        f"net.ipv4.ping_group_range={ping_group_range}",
    )
    assert await sysctl.wait() == 0
    process = await asyncio.create_subprocess_exec(
        *("ip", "netns", "exec", lab.namespace, sys.executable, "-c", UNPRIVILEGED_PROBE),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd="/",
    )
    stdout, stderr = await process.communicate()
    assert process.returncode == 0, stderr.decode()
    report: dict[str, Any] = json.loads(stdout)
    return report


async def test_unprivileged_process_uses_a_datagram_socket_where_allowed(lab: Lab) -> None:
    report = await _run_in_lab(lab, f"0 {2**31 - 1}")

    assert report["socket"] == "datagram"
    for host in ("127.0.0.1", "::1"):
        status, kind, message, latency_ms = report["results"][host]
        assert (status, kind, message) == ("up", None, None), host
        assert latency_ms > 0


async def test_unprivileged_process_without_ping_sockets_gets_permission(lab: Lab) -> None:
    report = await _run_in_lab(lab, "1 0")

    assert report["socket"] == "ProbeFailure"
    for host in ("127.0.0.1", "::1"):
        assert report["results"][host] == ["down", "permission", PERMISSION_HINT, None], host
