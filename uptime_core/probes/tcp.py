"""The TCP probe: connect, and optionally complete a TLS handshake."""

from __future__ import annotations

import asyncio

from uptime_core.probes.errors import ProbeFailure, classify_exception
from uptime_core.probes.observation import Observation
from uptime_core.probes.options import TcpOptions
from uptime_core.probes.resolve import resolve
from uptime_core.probes.result import ErrorKind, ProbeResult
from uptime_core.probes.tls import client_ssl_context, peer_certificate_expiry


async def _connect(
    host: str, port: int, options: TcpOptions, observation: Observation
) -> asyncio.StreamWriter:
    """Connect to each resolved address in turn until one accepts."""
    observation.enter(f"resolving {host}", ErrorKind.DNS)
    addresses = await resolve(host, port, options.ip_family)
    failure: OSError | None = None
    for _, sockaddr in addresses:
        address = sockaddr[0]
        observation.resolved_address = address
        observation.enter(f"connecting to {address} port {port}")
        try:
            _, writer = await asyncio.open_connection(address, port)
        except OSError as exc:
            failure = exc
            continue
        return writer
    assert failure is not None
    kind, message = classify_exception(failure, where=f"{observation.resolved_address} port {port}")
    raise ProbeFailure(kind, message) from failure


async def probe_tcp(
    host: str, port: int, options: TcpOptions, observation: Observation
) -> ProbeResult:
    """Open a TCP connection (and a TLS session when asked) and close it again."""
    writer = await _connect(host, port, options, observation)
    try:
        if options.tls:
            observation.enter("in the TLS handshake")
            try:
                await writer.start_tls(client_ssl_context(options.verify_tls), server_hostname=host)
            except (OSError, EOFError) as exc:
                kind, message = classify_exception(exc, where="TLS handshake")
                raise ProbeFailure(kind, message) from exc
            observation.tls_expires_at = peer_certificate_expiry(
                writer.get_extra_info("ssl_object")
            )
        observation.mark_answered()
        return observation.passed(options.degraded_latency_ms, options.cert_expiry_days)
    finally:
        if options.tls:
            # Skip the TLS close_notify exchange: a server that never answers it must not
            # turn a passed check into a timeout.
            writer.transport.abort()
        else:
            writer.close()
