"""Name resolution for the TCP and ICMP probes, without blocking the event loop."""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import socket

from uptime_core.address_policy import AddressBlocked, AddressPolicy
from uptime_core.probes.errors import ProbeFailure, shorten
from uptime_core.probes.options import IpFamily
from uptime_core.probes.result import ErrorKind

SocketAddress = tuple[str, int] | tuple[str, int, int, int]
_FAMILIES = {
    IpFamily.ANY: socket.AF_UNSPEC,
    IpFamily.IPV4: socket.AF_INET,
    IpFamily.IPV6: socket.AF_INET6,
}


@functools.lru_cache(maxsize=4096)
def literal_addresses(
    host: str, port: int
) -> tuple[tuple[socket.AddressFamily, SocketAddress], ...] | None:
    """The one address of an IP literal `host`, or None when `host` is a name.

    Remembered, and not a coroutine, so that a check of an IP address costs no lookup at all.
    """
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    if address.version == 6:
        return ((socket.AF_INET6, (address.compressed, port, 0, 0)),)
    return ((socket.AF_INET, (address.compressed, port)),)


async def resolve(
    host: str, port: int, family: IpFamily
) -> tuple[tuple[socket.AddressFamily, SocketAddress], ...]:
    """Addresses for `host` in the resolver's preferred order, filtered by `family`.

    IP literals skip the resolver (and the family filter: an address is what it is).
    """
    literal = literal_addresses(host, port)
    if literal is not None:
        return literal

    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(
            host, port, family=_FAMILIES[family], type=socket.SOCK_STREAM
        )
    except socket.gaierror as exc:
        raise ProbeFailure(
            ErrorKind.DNS, shorten(f"cannot resolve {host}: {exc.strerror or exc}")
        ) from exc
    seen: set[SocketAddress] = set()
    addresses: list[tuple[socket.AddressFamily, SocketAddress]] = []
    for info_family, _, _, _, sockaddr in infos:
        if info_family not in (socket.AF_INET, socket.AF_INET6) or sockaddr in seen:
            continue
        seen.add(sockaddr)  # type: ignore[arg-type]
        addresses.append((info_family, sockaddr))  # type: ignore[arg-type]
    if not addresses:
        raise ProbeFailure(ErrorKind.DNS, shorten(f"{host} has no {family.value} address"))
    return tuple(addresses)


def allowed_addresses(
    host: str,
    port: int | None,
    addresses: tuple[tuple[socket.AddressFamily, SocketAddress], ...],
    policy: AddressPolicy,
) -> tuple[tuple[socket.AddressFamily, SocketAddress], ...]:
    """The resolved `addresses` that `policy` lets a probe connect to, in order; a `blocked`
    failure naming the first refused one when it refuses all of them."""
    allowed: list[tuple[socket.AddressFamily, SocketAddress]] = []
    refusal: AddressBlocked | None = None
    for entry in addresses:
        try:
            policy.check(entry[1][0], port, host=host)
        except AddressBlocked as exc:
            refusal = refusal or exc
            continue
        allowed.append(entry)
    if refusal is None:
        return addresses
    if not allowed:
        raise ProbeFailure(ErrorKind.BLOCKED, shorten(refusal.message)) from None
    return tuple(allowed)
