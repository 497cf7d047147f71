"""Fixtures for the alerting tests: a database connection, a webhook receiver, SMTP servers
with TLS from a private CA the senders are told to trust."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest

from tests.alerting.receivers import SmtpServer, SwitchableTarget, WebhookReceiver

# The API served over real HTTP, as the GraphQL tests serve it.
from tests.graphql.conftest import api_url, serve_api  # noqa: F401
from tests.support.peers import CertificateSet, make_certificates
from uptime_core.runtime.db import libpq_url


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await asyncpg.create_pool(libpq_url(database_url), min_size=1, max_size=4)
    yield pool
    await pool.close()


@pytest.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    peer = WebhookReceiver()
    await peer.start("127.0.0.1", None)
    yield peer
    await peer.stop()


@pytest.fixture(scope="session")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> CertificateSet:
    return make_certificates(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def trust_test_ca(certificates: CertificateSet, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Senders in this process and in worker processes started from it trust the test CA."""
    monkeypatch.setenv("SSL_CERT_FILE", str(certificates.ca_path))
    return certificates.ca_path


@pytest.fixture
def smtp_starttls(certificates: CertificateSet, trust_test_ca: Path) -> Iterator[SmtpServer]:
    server = SmtpServer(certificates.valid.server_context(), "starttls").start()
    yield server
    server.stop()


@pytest.fixture
def smtp_tls(certificates: CertificateSet, trust_test_ca: Path) -> Iterator[SmtpServer]:
    server = SmtpServer(certificates.valid.server_context(), "tls").start()
    yield server
    server.stop()


@pytest.fixture
async def service() -> AsyncIterator[SwitchableTarget]:
    peer = SwitchableTarget()
    await peer.start("127.0.0.1", None)
    yield peer
    await peer.stop()
