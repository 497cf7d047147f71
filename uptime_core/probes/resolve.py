"""Name resolution for the probes: the address policy's `resolve_checked`, with its errors as
probe failures (an IP literal costs no lookup); and the connect to the first allowed address
that accepts, checked again once connected."""

from __future__ import annotations

import asyncio
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


async def connect_first(
    addresses: list[tuple[socket.AddressFamily, SocketAddress]],
    port: int,
    policy: AddressPolicy,
    observation: Observation,
    spelled: str = "{address} port {port}",
) -> socket.socket:
    """A bare non-blocking socket connected to the first of ``addresses`` that accepts (the
    caller closes it). ``observation.resolved_address`` is the address being tried, and the
    phase "connecting to" it, as ``spelled`` (each probe's own message style). The
    connected socket is checked against ``policy`` (the machine's own address on the health
    port, for one: a worker listening everywhere). Raises the last connect error when none
    accepts, and a ``BLOCKED`` failure when the connection is refused by the policy."""
    loop = asyncio.get_running_loop()
    failure: OSError | None = None
    for family, address in addresses:
        observation.resolved_address = address[0]
        observation.enter("connecting to " + spelled.format(address=address[0], port=port))
        # A bare socket: a connect needs no transport or streams, and skipping them halves
        # the CPU a TCP check costs compared with asyncio.open_connection.
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setblocking(False)
        try:
            await loop.sock_connect(sock, address)
            policy.check_connected(address[0], sock.getsockname()[0], port)
        except AddressBlocked as refusal:
            sock.close()
            raise ProbeFailure(ErrorKind.BLOCKED, refusal.message) from None
        except OSError as exc:
            sock.close()
            failure = exc
            continue
        except BaseException:  # cancelled by the timeout
            sock.close()
            raise
        return sock
    assert failure is not None
    raise failure
