"""Notifications end to end, on real sockets: worker processes check a real local service,
write the outbox, and deliver to a real webhook receiver and real SMTP servers."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

import asyncpg

from tests.alerting.receivers import SmtpServer, SwitchableTarget, WebhookReceiver
from tests.alerting.support import add_channel, states
from tests.support.net import free_port
from tests.support.processes import StartWorker
from tests.support.targets import TargetSpec, insert_targets
from tests.support.wait import poll_until
from uptime_core.alerting.messages import format_duration
from uptime_core.alerting.outbox import ClaimedDelivery, claim_due_deliveries, queue_test_message
from uptime_core.alerting.send import SIGNATURE_HEADER, SendError, send
from uptime_core.enums import ChannelKind
from uptime_core.runtime.db import libpq_url
from uptime_core.runtime.settings import Settings
from uptime_worker.deliver import Deliverer

WEBHOOK_SECRET = "a-shared-secret-of-some-length"


def email_config(server: SmtpServer) -> dict[str, Any]:
    return {
        "host": "127.0.0.1",
        "port": server.port,
        "security": server.security,
        "username": server.username,
        "password": server.password,
        "from_address": "uptime@example.com",
        "to_addresses": ["oncall@example.com", "sre@example.com"],
    }


async def test_each_channel_gets_one_down_and_one_resolved_with_target_cause_and_duration(
    db: asyncpg.Connection,
    pool: asyncpg.Pool,
    database_url: str,
    start_worker: StartWorker,
    service: SwitchableTarget,
    receiver: WebhookReceiver,
    smtp_starttls: SmtpServer,
    smtp_tls: SmtpServer,
) -> None:
    [target] = await insert_targets(
        db, [TargetSpec(kind="http", url=service.url("/health"), name="checkout service")]
    )
    await add_channel(
        pool,
        "hooks",
        ChannelKind.WEBHOOK,
        {"url": receiver.url("/hook"), "secret": WEBHOOK_SECRET},
        all_targets=False,
        target_ids=[target],
    )
    await add_channel(pool, "chat", ChannelKind.SLACK, {"url": receiver.url("/slack")})
    await add_channel(pool, "mail", ChannelKind.EMAIL, email_config(smtp_starttls))
    await add_channel(pool, "mail-tls", ChannelKind.EMAIL, email_config(smtp_tls))
    worker = start_worker(database_url, "w1")
    await worker.ready()

    async def status() -> str:
        value: str = await db.fetchval("SELECT status FROM target WHERE id = $1", target)
        return value

    assert await poll_until(status, lambda s: s == "up", within=15) == "up", worker.output
    service.healthy = False
    assert await poll_until(status, lambda s: s == "down", within=15) == "down", worker.output
    service.healthy = True
    assert await poll_until(status, lambda s: s == "up", within=15) == "up", worker.output
    done = await poll_until(
        lambda: states(db), lambda c: c == Counter(sent=8), within=30, every=0.2
    )
    assert done == Counter(sent=8), worker.output

    incident = await db.fetchrow("SELECT * FROM incident WHERE target_id = $1", target)
    duration = format_duration((incident["resolved_at"] - incident["started_at"]).total_seconds())
    cause = incident["cause"]
    assert cause.startswith("http_status: HTTP 503")

    hooks = receiver.on("/hook")
    assert [r.document["event"] for r in hooks] == ["down", "resolved"]
    for request in hooks:
        expected = hmac.new(WEBHOOK_SECRET.encode(), request.body, hashlib.sha256).hexdigest()
        assert request.headers[SIGNATURE_HEADER.lower()] == f"sha256={expected}"
        assert request.document["idempotency_key"] == request.key
        assert request.document["target"] == {"id": target, "name": "checkout service"}
        assert request.document["incident"]["cause"] == cause
    resolved = hooks[1].document["incident"]
    assert (
        resolved["duration_seconds"]
        == (incident["resolved_at"] - incident["started_at"]).total_seconds()
    )
    assert duration in hooks[1].document["text"]

    slack = receiver.on("/slack")
    assert len(slack) == 2
    down_text, resolved_text = (json.loads(r.body)["text"] for r in slack)
    assert "DOWN: checkout service" in down_text and cause in down_text
    assert "RESOLVED: checkout service" in resolved_text and duration in resolved_text
    assert SIGNATURE_HEADER.lower() not in slack[0].headers, "no secret, no signature"

    for server in (smtp_starttls, smtp_tls):
        messages = server.copy()
        assert [m["X-Uptime-Event"] for m in messages] == ["down", "resolved"]
        assert server.logins == [server.username, server.username]
        assert server.envelopes[0] == (
            "uptime@example.com",
            ["oncall@example.com", "sre@example.com"],
        )
        down, up = messages
        assert "checkout service" in down["Subject"] and cause in down.get_content()
        assert duration in up["Subject"] and duration in up.get_content()
        for message in messages:
            key = message["X-Uptime-Idempotency-Key"]
            assert message["Message-ID"] == f"<{key}@example.com>"
    assert "correct horse" not in worker.output, "no secret in the logs"
    assert WEBHOOK_SECRET not in worker.output


def deliverer_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "worker_id": "in-process",
        "alert_retry_initial_seconds": 0.05,
        "alert_retry_max_seconds": 0.2,
        "alert_send_timeout_seconds": 2.0,
        "worker_lease_margin_seconds": 1.0,
        **overrides,
    }
    return Settings(database_url=None, data_dir=Path("/nonexistent"), **values)


async def run_deliverer(pool: asyncpg.Pool, settings: Settings) -> tuple[asyncio.Event, Any]:
    stopping = asyncio.Event()
    task = asyncio.create_task(Deliverer(pool, settings, stopping).run())
    return stopping, task


async def test_a_receiver_failing_three_times_gets_the_message_once_with_one_key(
    db: asyncpg.Connection, pool: asyncpg.Pool, receiver: WebhookReceiver
) -> None:
    channel = await add_channel(pool, "flaky", ChannelKind.WEBHOOK, {"url": receiver.url("/f")})
    receiver.fail_first["/f"] = 3
    queued = await queue_test_message(pool, channel)
    assert queued is not None
    stopping, task = await run_deliverer(pool, deliverer_settings())
    try:
        final = await poll_until(lambda: states(db), lambda c: c["sent"] == 1, within=15)
    finally:
        stopping.set()
        await task
    assert final == Counter(sent=1)
    assert [r.answered for r in receiver.on("/f")] == [503, 503, 503, 200]
    assert {r.key for r in receiver.on("/f")} == {queued.idempotency_key}
    assert len(receiver.accepted("/f")) == 1
    row = await db.fetchrow("SELECT attempts, last_error, lease_owner FROM delivery")
    assert row["attempts"] == 4
    assert "HTTP 503" in row["last_error"], "the last failure is kept for the record"
    assert row["lease_owner"] is None


async def test_a_delivery_past_its_deadline_fails_with_its_last_error(
    db: asyncpg.Connection, pool: asyncpg.Pool, receiver: WebhookReceiver
) -> None:
    broken = await add_channel(pool, "broken", ChannelKind.WEBHOOK, {"url": receiver.url("/b")})
    gone = await add_channel(pool, "gone", ChannelKind.WEBHOOK, {"url": receiver.url("/g")})
    receiver.answer = {"/b": 503, "/g": 404}
    await queue_test_message(pool, broken)
    await queue_test_message(pool, gone)
    stopping, task = await run_deliverer(pool, deliverer_settings(alert_deadline_seconds=1.0))
    try:
        final = await poll_until(lambda: states(db), lambda c: c["failed"] == 2, within=15)
    finally:
        stopping.set()
        await task
    assert final == Counter(failed=2)
    rows = {
        row["channel_id"]: row
        for row in await db.fetch("SELECT channel_id, attempts, last_error FROM delivery")
    }
    assert rows[broken]["attempts"] > 1, "a 503 is retried until the deadline"
    assert len(receiver.on("/b")) == rows[broken]["attempts"]
    assert rows[broken]["last_error"].endswith("answered HTTP 503")
    assert rows[gone]["attempts"] == 1, "a 404 cannot get better: failed at once"
    assert rows[gone]["last_error"].endswith("answered HTTP 404")


async def test_two_workers_send_every_message_exactly_once(
    db: asyncpg.Connection,
    pool: asyncpg.Pool,
    database_url: str,
    start_worker: StartWorker,
    receiver: WebhookReceiver,
) -> None:
    channels = [
        await add_channel(pool, f"c{i}", ChannelKind.WEBHOOK, {"url": receiver.url(f"/c{i}")})
        for i in range(4)
    ]
    keys = {
        delivery.idempotency_key
        for _ in range(15)
        for channel in channels
        if (delivery := await queue_test_message(pool, channel)) is not None
    }
    workers = [start_worker(database_url, f"w{i}", alert_concurrency="5") for i in range(2)]
    await asyncio.gather(*(w.ready() for w in workers))
    final = await poll_until(lambda: states(db), lambda c: c["sent"] == len(keys), within=30)
    assert final == Counter(sent=len(keys)), workers[0].output + workers[1].output
    sent_by_key = Counter(r.key for r in receiver.received)
    assert set(sent_by_key) == keys
    assert max(sent_by_key.values()) == 1, "no message was sent twice"


async def test_killing_a_worker_mid_send_still_delivers_everything(
    db: asyncpg.Connection,
    pool: asyncpg.Pool,
    database_url: str,
    start_worker: StartWorker,
    receiver: WebhookReceiver,
) -> None:
    channel = await add_channel(pool, "slow", ChannelKind.WEBHOOK, {"url": receiver.url("/s")})
    keys = set()
    for _ in range(20):
        delivery = await queue_test_message(pool, channel)
        assert delivery is not None
        keys.add(delivery.idempotency_key)
    receiver.delay = 0.5  # every answer takes a while, so sends are caught in flight
    settings = {
        "alert_concurrency": "4",
        "alert_send_timeout_seconds": "2",
        "worker_lease_margin_seconds": "1",
    }
    doomed = start_worker(database_url, "doomed", **settings)
    survivor = start_worker(database_url, "survivor", **settings)
    await asyncio.gather(doomed.ready(), survivor.ready())

    async def in_flight() -> list[str]:
        rows = await db.fetch(
            "SELECT idempotency_key FROM delivery WHERE lease_owner = 'doomed' AND attempts > 0 "
            "AND state = 'pending'"
        )
        return [row["idempotency_key"] for row in rows]

    caught = await poll_until(in_flight, lambda k: len(k) > 0, within=15, every=0.01)
    assert caught, doomed.output
    doomed.kill()
    held = set(await in_flight())  # what the killed worker still held
    final = await poll_until(lambda: states(db), lambda c: c["sent"] == len(keys), within=40)
    assert final == Counter(sent=len(keys)), survivor.output
    received = Counter(r.key for r in receiver.received)
    assert set(received) == keys, "every message arrived"
    twice = {key for key, count in received.items() if count > 1}
    assert twice <= held, "only a send cut off by the kill is repeated"
    assert all(received[key] <= 2 for key in keys)
    assert len(receiver.accepted()) >= len(keys)


async def test_a_trickling_receiver_cannot_stretch_a_send_past_its_timeout(
    db: asyncpg.Connection, pool: asyncpg.Pool, receiver: WebhookReceiver
) -> None:
    # One byte every 0.2 s: no single read waits near the timeout, so httpx's per-phase
    # timeouts never fire, yet the whole answer would take about 20 s.
    channel = await add_channel(pool, "tarpit", ChannelKind.WEBHOOK, {"url": receiver.url("/t")})
    receiver.trickle["/t"] = 0.2
    await queue_test_message(pool, channel)
    settings = deliverer_settings(alert_send_timeout_seconds=1.0)
    stopping, task = await run_deliverer(pool, settings)
    try:
        row = await poll_until(
            lambda: db.fetchrow("SELECT attempts, last_error FROM delivery"),
            lambda r: r["last_error"] is not None,
            within=10,
            every=0.02,
        )
        took = time.monotonic() - receiver.received[0].at
    finally:
        stopping.set()
        await task
    assert row["last_error"] == f"no answer from http://127.0.0.1:{receiver.port} within 1 s"
    assert row["attempts"] == 1
    assert took < 1.6, f"the attempt took {took:.2f} s, not about its 1 s timeout"


async def test_stopping_never_gives_back_a_message_that_went_out(
    db: asyncpg.Connection,
    pool: asyncpg.Pool,
    database_url: str,
    receiver: WebhookReceiver,
) -> None:
    channel = await add_channel(pool, "slow", ChannelKind.WEBHOOK, {"url": receiver.url("/s")})
    queued = await queue_test_message(pool, channel)
    assert queued is not None
    receiver.delay = 0.5
    stopping = asyncio.Event()
    deliverer = Deliverer(pool, deliverer_settings(), stopping)
    task = asyncio.create_task(deliverer.run())
    locker = await asyncpg.connect(libpq_url(database_url))
    try:
        received = await poll_until(lambda: _count(receiver), lambda n: n == 1, within=10)
        assert received == 1
        # While the answer is on its way, hold the row so writing "sent" waits; then stop:
        # the wind-down waits out the send, then cancels the task stuck writing "sent".
        transaction = locker.transaction()
        await transaction.start()
        await locker.execute("SELECT 1 FROM delivery WHERE id = $1 FOR UPDATE", queued.id)
        stopping.set()
        left = await poll_until(lambda: _tasks(deliverer), lambda n: n == 0, within=15)
        assert left == 0
        await transaction.rollback()
        await asyncio.wait_for(task, timeout=15)
    finally:
        await locker.close()
    row = await db.fetchrow("SELECT state, lease_owner FROM delivery")
    assert (row["state"], row["lease_owner"]) == ("sent", None), (
        "a message that went out is recorded sent, not given back to be sent again"
    )
    assert await claim_due_deliveries(db, "another", 10, 5.0, 3600.0) == []
    assert len(receiver.on("/s")) == 1


async def _count(receiver: WebhookReceiver) -> int:
    return len(receiver.received)


async def _tasks(deliverer: Deliverer) -> int:
    return len(deliverer.tasks)


async def test_no_new_attempt_starts_once_stopping(
    db: asyncpg.Connection, pool: asyncpg.Pool, receiver: WebhookReceiver
) -> None:
    channel = await add_channel(pool, "hook", ChannelKind.WEBHOOK, {"url": receiver.url("/n")})
    queued = await queue_test_message(pool, channel)
    assert queued is not None
    stopping = asyncio.Event()
    stopping.set()
    deliverer = Deliverer(pool, deliverer_settings(), stopping)
    [claimed] = await claim_due_deliveries(pool, deliverer.worker_id, 10, 5.0, 3600.0)
    await deliverer._deliver(claimed)
    row = await db.fetchrow("SELECT attempts, state FROM delivery")
    assert (row["attempts"], row["state"]) == (0, "pending")
    assert receiver.received == []


async def test_deliveries_waiting_for_a_retry_hold_no_slot(
    db: asyncpg.Connection, pool: asyncpg.Pool, receiver: WebhookReceiver
) -> None:
    dead = await add_channel(pool, "dead", ChannelKind.WEBHOOK, {"url": receiver.url("/dead")})
    alive = await add_channel(pool, "alive", ChannelKind.WEBHOOK, {"url": receiver.url("/ok")})
    receiver.answer["/dead"] = 503
    for _ in range(2):
        await queue_test_message(pool, dead)
    queued = await queue_test_message(pool, alive)
    assert queued is not None
    settings = deliverer_settings(
        alert_concurrency=1,
        alert_retry_initial_seconds=5.0,
        alert_retry_max_seconds=10.0,
        alert_deadline_seconds=60.0,
    )
    stopping, task = await run_deliverer(pool, settings)
    try:
        accepted = await poll_until(
            lambda: _accepted(receiver, "/ok"), lambda n: n == 1, within=5, every=0.05
        )
        waiting = await db.fetch(
            "SELECT attempts, lease_owner, next_attempt_at > now() AS later, last_error "
            "FROM delivery WHERE channel_id = $1",
            dead,
        )
    finally:
        stopping.set()
        await task
    assert accepted == 1, "a message to a working channel is not stuck behind a dead one"
    assert [(r["attempts"], r["lease_owner"], r["later"]) for r in waiting] == [
        (1, None, True),
        (1, None, True),
    ], "a failed attempt leaves the row unleased until its retry is due"
    assert all(r["last_error"].endswith("answered HTTP 503") for r in waiting)


async def _accepted(receiver: WebhookReceiver, path: str) -> int:
    return len(receiver.accepted(path))


async def test_an_unexpected_error_is_a_failed_attempt_and_gives_up_at_the_deadline(
    db: asyncpg.Connection, pool: asyncpg.Pool, receiver: WebhookReceiver
) -> None:
    channel = await add_channel(pool, "hook", ChannelKind.WEBHOOK, {"url": receiver.url("/u")})
    # A "down" whose snapshot lacks what a message needs: rendering it raises KeyError.
    await db.execute(
        "INSERT INTO delivery (channel_id, event, idempotency_key, payload) "
        "VALUES ($1, 'down', 'broken-snapshot', '{}')",
        channel,
    )
    stopping, task = await run_deliverer(pool, deliverer_settings(alert_deadline_seconds=1.0))
    try:
        final = await poll_until(lambda: states(db), lambda c: c["failed"] == 1, within=10)
    finally:
        stopping.set()
        await task
    assert final == Counter(failed=1)
    row = await db.fetchrow("SELECT attempts, last_error, lease_owner FROM delivery")
    assert row["attempts"] >= 1 and row["lease_owner"] is None
    assert row["last_error"] == "unexpected error: KeyError: 'target'"
    assert receiver.received == []


async def test_send_errors_name_the_url_origin_only(receiver: WebhookReceiver) -> None:
    secret_path = "/bot123456:TOKEN-IN-THE-PATH/sendMessage?key=TOKEN-IN-THE-QUERY"

    def delivery(url: str) -> ClaimedDelivery:
        return ClaimedDelivery(
            id=1,
            event="test",
            idempotency_key="uptime-test-1",
            payload={},
            attempts=0,
            channel_id=1,
            channel_name="telegram",
            kind=ChannelKind.WEBHOOK,
            config={"url": url},
            seconds_left=60.0,
        )

    closed = free_port()
    refused = delivery(f"http://bot:PASSWORD@127.0.0.1:{closed}{secret_path}")
    receiver.answer[secret_path] = 503
    answered = delivery(receiver.url(secret_path))
    errors = []
    for attempt in (refused, answered):
        try:
            await send(attempt, 2.0)
        except SendError as error:
            errors.append(str(error))
    assert errors[0].startswith(f"cannot reach http://127.0.0.1:{closed}: ConnectError"), errors
    assert errors[1] == f"http://127.0.0.1:{receiver.port} answered HTTP 503"
    for error in errors:
        assert "TOKEN" not in error and "PASSWORD" not in error and "bot" not in error
