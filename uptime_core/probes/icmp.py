"""The ICMP probe: one echo request through aioping, raw or unprivileged socket."""

from __future__ import annotations

import random
import socket

import aioping

from uptime_core.address_policy import AddressPolicy
from uptime_core.enums import ErrorKind
from uptime_core.probes.errors import ProbeFailure
from uptime_core.probes.observation import Observation
from uptime_core.probes.options import IcmpOptions
from uptime_core.probes.resolve import allowed_addresses
from uptime_core.probes.result import ProbeResult

PERMISSION_HINT = (
    "ICMP is not permitted: run as root or with CAP_NET_RAW, or allow unprivileged ping "
    "for this group in sysctl net.ipv4.ping_group_range"
)


def open_icmp_socket(family: socket.AddressFamily) -> socket.socket:
    """A raw ICMP socket when privileged, else a datagram ("ping") socket where allowed."""
    protocol = socket.IPPROTO_ICMP if family == socket.AF_INET else socket.IPPROTO_ICMPV6
    try:
        sock = socket.socket(family, socket.SOCK_RAW, protocol)
    except PermissionError:
        try:
            sock = socket.socket(family, socket.SOCK_DGRAM, protocol)
        except PermissionError as exc:
            raise ProbeFailure(ErrorKind.PERMISSION, PERMISSION_HINT) from exc
    sock.setblocking(False)
    return sock


async def probe_icmp(
    host: str,
    options: IcmpOptions,
    observation: Observation,
    timeout_seconds: float,
    policy: AddressPolicy,
) -> ProbeResult:
    """Send one echo request to the first address `policy` allows and wait for its reply;
    latency is the round trip."""
    addresses = await allowed_addresses(host, None, options.ip_family, policy, observation)
    family, sockaddr = addresses[0]
    observation.resolved_address = sockaddr[0]
    sock = open_icmp_socket(family)
    try:
        identifier = random.getrandbits(16)
        observation.enter(f"sending an echo request to {sockaddr[0]}")
        await aioping.send_one_ping(sock, sockaddr, identifier, timeout_seconds, family)
        observation.enter(f"waiting for an echo reply from {sockaddr[0]}", ErrorKind.NO_REPLY)
        # aioping's own deadline is set past ours so that the caller's timeout decides.
        round_trip: float = await aioping.receive_one_ping(sock, identifier, timeout_seconds + 1)
    finally:
        sock.close()
    observation.mark_answered(round_trip * 1000.0)
    return observation.passed(options.degraded_latency_ms, None)
