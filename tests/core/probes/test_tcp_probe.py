"""The TCP probe against real local peers, over IPv4 and IPv6, with and without TLS."""

from __future__ import annotations

import asyncio

import pytest

from tests.support.peers import CertificateSet, Target, TcpPeer
from uptime_core.enums import CheckStatus, ErrorKind
from uptime_core.probes import probe


async def _assert_connects(host: str, peer: TcpPeer) -> None:
    result = await probe(Target("tcp", host=host, port=peer.port))

    assert result.status is CheckStatus.UP
    assert result.resolved_address == host
    assert result.latency_ms is not None and result.latency_ms > 0
    assert result.tls_expires_at is None
    async with asyncio.timeout(2):
        await peer.first_accepted.wait()
    assert peer.accepted == 1


async def test_connect_over_ipv4_is_up(tcp_peer: TcpPeer) -> None:
    await _assert_connects("127.0.0.1", tcp_peer)


async def test_connect_over_ipv6_is_up(tcp_peer_v6: TcpPeer) -> None:
    await _assert_connects("::1", tcp_peer_v6)


async def test_bracketed_ipv6_host_is_accepted(tcp_peer_v6: TcpPeer) -> None:
    result = await probe(Target("tcp", host="[::1]", port=tcp_peer_v6.port))

    assert result.status is CheckStatus.UP


async def test_closed_port_is_refused(closed_port: int) -> None:
    result = await probe(Target("tcp", host="127.0.0.1", port=closed_port))

    assert result.status is CheckStatus.DOWN
    assert result.error_kind is ErrorKind.REFUSED
    assert result.message == f"connection refused (127.0.0.1 port {closed_port})"
    assert result.resolved_address == "127.0.0.1"
    assert result.latency_ms is None


async def test_name_that_cannot_resolve_is_dns() -> None:
    result = await probe(Target("tcp", host="no-such-host.invalid", port=443))

    assert result.error_kind is ErrorKind.DNS
    assert result.message is not None
    assert result.message.startswith("cannot resolve no-such-host.invalid")


async def test_tls_handshake_reports_the_exact_expiry(
    tls_peer: TcpPeer, certificates: CertificateSet
) -> None:
    target = Target("tcp", host="::1", port=tls_peer.port, options={"tls": True})
    target.options["verifyTls"] = False

    result = await probe(target)

    assert result.status is CheckStatus.UP, result.message
    assert result.tls_expires_at == certificates.valid.not_after


@pytest.mark.usefixtures("trust_test_ca")
async def test_tls_handshake_verified_against_a_trusted_ca(
    tls_peer: TcpPeer, certificates: CertificateSet
) -> None:
    target = Target("tcp", host="::1", port=tls_peer.port, options={"tls": True})
    target.options["certExpiryDays"] = 30

    result = await probe(target)

    assert result.status is CheckStatus.UP, result.message
    assert result.tls_expires_at == certificates.valid.not_after


async def test_tls_with_an_untrusted_certificate_is_a_tls_failure(tls_peer: TcpPeer) -> None:
    result = await probe(Target("tcp", host="::1", port=tls_peer.port, options={"tls": True}))

    assert result.status is CheckStatus.DOWN
    assert result.error_kind is ErrorKind.TLS
    assert result.message is not None and "unable to get local issuer" in result.message


async def test_tls_against_a_peer_that_does_not_speak_tls(tcp_peer: TcpPeer) -> None:
    target = Target("tcp", host="127.0.0.1", port=tcp_peer.port, options={"tls": True})

    result = await probe(target)

    assert result.status is CheckStatus.DOWN
    assert result.error_kind in (ErrorKind.TLS, ErrorKind.CONNECTION)
    assert result.message is not None and "TLS handshake" in result.message
