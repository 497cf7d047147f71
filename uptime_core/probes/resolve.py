"""Name resolution for the TCP and ICMP probes: the address policy's `resolve_checked`, with
its errors as probe failures. An IP literal costs no lookup."""

from __future__ import annotations

import socket

from uptime_core.address_policy import (
    AddressBlocked,
    AddressPolicy,
    SocketAddress,
    literal_address,
    resolve_checked,
)
from uptime_core.enums import ErrorKind
from uptime_core.probes.errors import ProbeFailure, shorten
from uptime_core.probes.observation import Observation
from uptime_core.probes.options import IpFamily

_FAMILIES = {
    IpFamily.ANY: socket.AF_UNSPEC,
    IpFamily.IPV4: socket.AF_INET,
    IpFamily.IPV6: socket.AF_INET6,
}


async def allowed_addresses(
    host: str,
    port: int | None,
    family: IpFamily,
    policy: AddressPolicy,
    observation: Observation,
) -> list[tuple[socket.AddressFamily, SocketAddress]]:
    """The addresses of `host` (of `family`; an IP literal is used as written) that `policy`
    lets a probe connect to on `port` (None: no port, as for ICMP), in the resolver's order.

    A `dns` failure when the name does not resolve, a `blocked` one naming the first refused
    address when the policy refuses all of them.
    """
    if literal_address(host) is None:
        observation.enter(f"resolving {host}", ErrorKind.DNS)
    try:
        return await resolve_checked(host, port, policy, _FAMILIES[family])
    except socket.gaierror as exc:
        raise ProbeFailure(
            ErrorKind.DNS, shorten(f"cannot resolve {host}: {exc.strerror or exc}")
        ) from exc
    except AddressBlocked as refusal:
        observation.resolved_address = refusal.address
        raise ProbeFailure(ErrorKind.BLOCKED, shorten(refusal.message)) from None
