"""Peers that never answer or are unreachable, made real inside a network namespace: packets
to `lab.blackhole` are dropped silently, packets to `lab.unreachable` draw ICMP
host-unreachable from the namespace acting as a router."""

from __future__ import annotations

import time

from tests.support.peers import Lab, Target
from uptime_core.enums import CheckStatus, ErrorKind
from uptime_core.probes import probe

TIMEOUT = 0.5


async def test_tcp_to_a_silent_host_times_out_while_connecting(lab: Lab) -> None:
    started = time.perf_counter()
    result = await probe(Target("tcp", host=lab.blackhole, port=80, timeout_seconds=TIMEOUT))

    assert time.perf_counter() - started < TIMEOUT + 0.3
    assert result.status is CheckStatus.DOWN
    assert result.error_kind is ErrorKind.TIMEOUT
    assert result.message == f"no answer within 0.5 s (connecting to {lab.blackhole} port 80)"
    assert result.resolved_address == lab.blackhole


async def test_http_to_a_silent_host_times_out_while_connecting(lab: Lab) -> None:
    url = f"http://{lab.blackhole}/health"
    result = await probe(Target("http", url=url, timeout_seconds=TIMEOUT))

    assert result.error_kind is ErrorKind.TIMEOUT
    assert result.message == f"no answer within 0.5 s (connecting to {lab.blackhole}:80)"


async def test_icmp_to_a_silent_host_gets_no_reply(lab: Lab) -> None:
    result = await probe(Target("icmp", host=lab.blackhole, timeout_seconds=TIMEOUT))

    assert result.error_kind is ErrorKind.NO_REPLY
    assert (
        result.message == f"no answer within 0.5 s (waiting for an echo reply from {lab.blackhole})"
    )


async def test_tcp_to_an_unreachable_host(lab: Lab) -> None:
    result = await probe(Target("tcp", host=lab.unreachable, port=80, timeout_seconds=2))

    assert result.error_kind is ErrorKind.UNREACHABLE
    assert result.message == f"No route to host ({lab.unreachable} port 80)"


async def test_http_to_an_unreachable_host(lab: Lab) -> None:
    result = await probe(Target("http", url=f"http://{lab.unreachable}/", timeout_seconds=2))

    assert result.error_kind is ErrorKind.UNREACHABLE


async def test_icmp_to_an_unreachable_host_gets_no_reply(lab: Lab) -> None:
    result = await probe(Target("icmp", host=lab.unreachable, timeout_seconds=TIMEOUT))

    assert result.error_kind is ErrorKind.NO_REPLY
