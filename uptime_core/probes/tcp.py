"""The TCP probe: connect, and optionally complete a TLS handshake."""

from __future__ import annotations

import asyncio
import socket

from uptime_core.address_policy import AddressPolicy
from uptime_core.probes.errors import ProbeFailure, classify_exception
from uptime_core.probes.observation import Observation
from uptime_core.probes.options import TcpOptions
from uptime_core.probes.resolve import allowed_addresses, connect_first
from uptime_core.probes.result import ProbeResult
from uptime_core.probes.tls import client_ssl_context, peer_certificate_expiry


async def _handshake(
    loop: asyncio.AbstractEventLoop,
    sock: socket.socket,
    host: str,
    options: TcpOptions,
    observation: Observation,
) -> None:
    observation.enter("in the TLS handshake")
    try:
        transport, _ = await loop.create_connection(
            asyncio.Protocol,
            sock=sock,
            ssl=client_ssl_context(options.verify_tls),
            server_hostname=host,
        )
    except (OSError, EOFError) as exc:
        kind, message = classify_exception(exc, where="TLS handshake")
        raise ProbeFailure(kind, message) from exc
    observation.tls_expires_at = peer_certificate_expiry(transport.get_extra_info("ssl_object"))
    # No close_notify exchange: a server that never answers it must not turn a passed check
    # into a timeout.
    transport.abort()


async def probe_tcp(
    host: str, port: int, options: TcpOptions, observation: Observation, policy: AddressPolicy
) -> ProbeResult:
    """Open a TCP connection to the first address that `policy` allows and that accepts (and
    a TLS session when asked), then close it. Latency covers resolution, connect and
    handshake."""
    loop = asyncio.get_running_loop()
    addresses = await allowed_addresses(host, port, options.ip_family, policy, observation)
    try:
        sock = await connect_first(addresses, port, policy, observation)
    except OSError as failure:
        where = f"{observation.resolved_address} port {port}"
        kind, message = classify_exception(failure, where=where)
        raise ProbeFailure(kind, message) from failure
    try:
        if options.tls:
            await _handshake(loop, sock, host, options, observation)
    finally:
        sock.close()
    observation.mark_answered()
    return observation.passed(options.degraded_latency_ms, options.cert_expiry_days)
