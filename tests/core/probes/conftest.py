"""Fixtures for the probe tests: local peers started per test, certificates and a network
namespace per session. The peers themselves live in tests/support/peers.py."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Iterator

import pytest

from tests.support.peers import (
    CertificateSet,
    HttpPeer,
    Lab,
    LabUnavailable,
    TcpPeer,
    make_certificates,
    open_lab,
)
from uptime_core.probes.tls import client_ssl_context


@pytest.fixture(scope="session")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> CertificateSet:
    """A private CA and two server certificates for localhost, 127.0.0.1 and ::1."""
    return make_certificates(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def trust_test_ca(certificates: CertificateSet, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Make verified probes trust the test CA, the way an operator would: SSL_CERT_FILE."""
    monkeypatch.setenv("SSL_CERT_FILE", str(certificates.ca_path))
    client_ssl_context.cache_clear()
    yield
    client_ssl_context.cache_clear()


@pytest.fixture
async def http_peer() -> AsyncIterator[HttpPeer]:
    peer = await HttpPeer().start("127.0.0.1", None)
    yield peer
    await peer.stop()


@pytest.fixture
async def http_peer_v6() -> AsyncIterator[HttpPeer]:
    peer = await HttpPeer().start("::1", None)
    yield peer
    await peer.stop()


@pytest.fixture
async def https_peer(certificates: CertificateSet) -> AsyncIterator[HttpPeer]:
    peer = await HttpPeer().start("127.0.0.1", certificates.valid.server_context())
    yield peer
    await peer.stop()


@pytest.fixture
async def https_peer_expiring(certificates: CertificateSet) -> AsyncIterator[HttpPeer]:
    peer = await HttpPeer().start("127.0.0.1", certificates.expiring.server_context())
    yield peer
    await peer.stop()


@pytest.fixture
async def tcp_peer() -> AsyncIterator[TcpPeer]:
    peer = await TcpPeer().start("127.0.0.1")
    yield peer
    await peer.stop()


@pytest.fixture
async def tcp_peer_v6() -> AsyncIterator[TcpPeer]:
    peer = await TcpPeer().start("::1")
    yield peer
    await peer.stop()


@pytest.fixture
async def tls_peer(certificates: CertificateSet) -> AsyncIterator[TcpPeer]:
    peer = await TcpPeer().start("::1", certificates.valid.server_context())
    yield peer
    await peer.stop()


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A port that is bound but not listening, so connecting is refused (no reuse race)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def lab() -> Iterator[Lab]:
    """The network namespace; tests needing it are skipped, with the reason, where it
    cannot be made."""
    try:
        with open_lab() as created:
            yield created
    except LabUnavailable as exc:
        pytest.skip(str(exc))
