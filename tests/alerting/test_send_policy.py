"""Where notification sends may go, on real sockets: the address policy (webhook, Slack and
SMTP), redirects (never followed: the delivery fails at once), TLS still checked against the
configured host name, and what a receiver slower than the send timeout gets."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from tests.alerting.receivers import Received, SmtpServer, WebhookReceiver
from tests.alerting.support import add_channel, states
from tests.alerting.test_delivery import deliverer_settings, email_config, run_deliverer
from tests.support.peers import CertificateSet, Request, respond
from tests.support.wait import poll_until
from uptime_core.address_policy import AddressPolicy
from uptime_core.alerting.outbox import ClaimedDelivery, queue_test_message
from uptime_core.alerting.send import SendError, send
from uptime_core.enums import ChannelKind
from uptime_core.runtime.settings import Settings, get_settings

NO_LOOPBACK = AddressPolicy(
    blocked=(ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))
)
REFUSED = "127.0.0.1 is in a blocked network (127.0.0.0/8, UPTIME_BLOCKED_NETWORKS)"
SPELLINGS = ["127.0.0.1", "2130706433", "0x7f000001", "127.1", "[::ffff:127.0.0.1]"]


def delivery(kind: ChannelKind, config: dict[str, Any]) -> ClaimedDelivery:
    return ClaimedDelivery(
        id=1,
        event="test",
        idempotency_key="uptime-test-policy",
        payload={},
        attempts=0,
        channel_id=1,
        channel_name="ops",
        kind=kind,
        config=config,
        seconds_left=60.0,
    )


class RedirectingReceiver(WebhookReceiver):
    """Answers POSTs to ``/moved`` with a redirect to ``location`` (and records them)."""

    location = ""

    async def _route(self, request: Request, writer: asyncio.StreamWriter) -> None:
        if request.path == "/moved":
            self.received.append(Received(request.path, request.headers, request.body))
            await respond(writer, 302, b"", {"Location": self.location})
        else:
            await super()._route(request, writer)


async def deliver_until_failed(
    pool: asyncpg.Pool, db: asyncpg.Connection, settings: Settings, within: float
) -> Counter[str]:
    """Run a deliverer until one delivery has failed; the deliveries' states then."""
    stopping, task = await run_deliverer(pool, settings)
    try:
        return await poll_until(lambda: states(db), lambda c: c["failed"] == 1, within=within)
    finally:
        stopping.set()
        await task


@pytest.fixture
async def redirecting() -> AsyncIterator[RedirectingReceiver]:
    peer = RedirectingReceiver()
    await peer.start("127.0.0.1", None)
    yield peer
    await peer.stop()


@pytest.fixture
def fresh_settings() -> Iterator[None]:
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.mark.parametrize("kind", [ChannelKind.WEBHOOK, ChannelKind.SLACK])
@pytest.mark.parametrize("spelling", SPELLINGS)
async def test_a_send_to_a_refused_address_fails_for_good_in_every_spelling(
    receiver: WebhookReceiver, kind: ChannelKind, spelling: str
) -> None:
    url = f"http://{spelling}:{receiver.port}/hook/SECRET-TOKEN"

    with pytest.raises(SendError) as refused:
        await send(delivery(kind, {"url": url}), 2.0, NO_LOOPBACK)

    assert refused.value.permanent
    assert str(refused.value).endswith(REFUSED.removeprefix("127.0.0.1")), str(refused.value)
    assert "127.0.0.1" in str(refused.value) and "SECRET-TOKEN" not in str(refused.value)
    assert receiver.received == []
    assert receiver.connections == 0


async def test_an_email_to_a_refused_address_fails_for_good(smtp_starttls: SmtpServer) -> None:
    config = {**email_config(smtp_starttls), "host": "localhost"}

    with pytest.raises(SendError) as refused:
        await send(delivery(ChannelKind.EMAIL, config), 5.0, NO_LOOPBACK)

    assert refused.value.permanent
    assert "localhost resolves to" in str(refused.value)
    assert "UPTIME_BLOCKED_NETWORKS" in str(refused.value)
    assert smtp_starttls.copy() == []


async def test_email_over_starttls_to_a_name_is_verified_for_that_name(
    smtp_starttls: SmtpServer,
) -> None:
    # Connected to the checked address, but TLS is verified against "localhost".
    config = {**email_config(smtp_starttls), "host": "localhost"}

    await send(delivery(ChannelKind.EMAIL, config), 5.0, AddressPolicy(blocked=()))

    assert len(smtp_starttls.copy()) == 1


async def test_https_webhook_to_a_name_is_verified_for_that_name(
    certificates: CertificateSet, trust_test_ca: Path
) -> None:
    peer = WebhookReceiver()
    await peer.start("127.0.0.1", certificates.valid.server_context())
    try:
        url = f"https://localhost:{peer.port}/hook"
        await send(delivery(ChannelKind.WEBHOOK, {"url": url}), 5.0, AddressPolicy(blocked=()))
        wrong_name = f"https://127.0.0.2:{peer.port}/hook"
        with pytest.raises(SendError) as mismatch:
            await send(delivery(ChannelKind.WEBHOOK, {"url": wrong_name}), 5.0)
    finally:
        await peer.stop()

    assert len(peer.accepted("/hook")) == 1
    assert "cannot reach https://127.0.0.2" in str(mismatch.value)


async def test_a_redirect_fails_the_delivery_at_once_naming_it(
    db: asyncpg.Connection,
    pool: asyncpg.Pool,
    redirecting: RedirectingReceiver,
    receiver: WebhookReceiver,
) -> None:
    redirecting.location = receiver.url("/elsewhere?token=SECRET-TOKEN")
    channel = await add_channel(
        pool, "moved", ChannelKind.WEBHOOK, {"url": redirecting.url("/moved")}
    )
    await queue_test_message(pool, channel)
    final = await deliver_until_failed(pool, db, deliverer_settings(), within=15)

    assert final == Counter(failed=1)
    row = await db.fetchrow("SELECT attempts, last_error FROM delivery")
    assert row["attempts"] == 1, "a redirect is not retried"
    assert row["last_error"] == (
        f"http://127.0.0.1:{redirecting.port} answered HTTP 302, a redirect to "
        f"http://127.0.0.1:{receiver.port}: redirects are not followed, point the channel at "
        "the final URL"
    )
    assert len(redirecting.on("/moved")) == 1
    assert receiver.received == [], "the redirect is not followed"


async def test_the_deliverer_fails_a_refused_address_at_once(
    db: asyncpg.Connection,
    pool: asyncpg.Pool,
    receiver: WebhookReceiver,
    monkeypatch: pytest.MonkeyPatch,
    fresh_settings: None,
) -> None:
    monkeypatch.setenv("UPTIME_BLOCKED_NETWORKS", "127.0.0.0/8")
    channel = await add_channel(pool, "local", ChannelKind.WEBHOOK, {"url": receiver.url("/h")})
    await queue_test_message(pool, channel)
    final = await deliver_until_failed(pool, db, deliverer_settings(), within=15)

    assert final == Counter(failed=1)
    row = await db.fetchrow("SELECT attempts, last_error FROM delivery")
    assert row["attempts"] == 1
    assert row["last_error"] == f"not sent to http://127.0.0.1:{receiver.port}: {REFUSED}"
    assert receiver.connections == 0


async def test_a_receiver_slower_than_the_timeout_gets_the_same_message_each_time(
    db: asyncpg.Connection,
    pool: asyncpg.Pool,
    receiver: WebhookReceiver,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The receiver answers long after the send timeout: every attempt times out. Whether a
    # copy arrives whole before its attempt gives up depends on the machine's load, so what
    # is checked is what holds either way: whatever arrived is the same message with the
    # same key, never more copies than attempts, and every attempt failed as a timeout.
    channel = await add_channel(pool, "slow", ChannelKind.WEBHOOK, {"url": receiver.url("/s")})
    receiver.delay = 3.0
    queued = await queue_test_message(pool, channel)
    assert queued is not None
    caplog.set_level(logging.INFO, logger="uptime.worker")
    settings = deliverer_settings(alert_send_timeout_seconds=1.0, alert_deadline_seconds=1.5)
    final = await deliver_until_failed(pool, db, settings, within=20)

    assert final == Counter(failed=1)
    row = await db.fetchrow("SELECT attempts, last_error FROM delivery")
    timeout = f"no answer from http://127.0.0.1:{receiver.port} within 1 s"
    assert row["last_error"] == timeout
    failures = [
        r.getMessage()
        for r in caplog.records
        if r.name == "uptime.worker" and "failed" in r.getMessage()
    ]
    assert len(failures) == row["attempts"] >= 1, failures
    assert all(f"({timeout})" in m or m.endswith(f": {timeout}") for m in failures), failures
    copies = receiver.on("/s")
    assert 1 <= len(copies) <= row["attempts"]
    assert {copy.key for copy in copies} == {queued.idempotency_key}
    assert len({copy.body for copy in copies}) == 1, "each one in full, the same message"
