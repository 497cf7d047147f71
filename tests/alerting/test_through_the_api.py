"""The whole path through the public API: a channel created over GraphQL, `testChannel`, a
worker process sending it, and `deliveries` reporting it sent."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import httpx

from tests.alerting.receivers import WebhookReceiver
from tests.support.processes import StartWorker
from tests.support.wait import poll_until

SECRET = "shared-secret-for-signing-bodies"


async def graphql(client: httpx.AsyncClient, query: str, **variables: Any) -> dict[str, Any]:
    response = await client.post("/graphql", json={"query": query, "variables": variables})
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body
    assert SECRET not in response.text
    data: dict[str, Any] = body["data"]
    return data


async def test_a_test_message_goes_out_through_a_worker_and_shows_as_sent(
    api_url: str, database_url: str, start_worker: StartWorker, receiver: WebhookReceiver
) -> None:
    async with httpx.AsyncClient(base_url=api_url, timeout=10) as client:
        created = await graphql(
            client,
            'mutation($url: String!, $secret: String!) { createChannel(input: {name: "ops", '
            "kind: WEBHOOK, allTargets: true, webhook: {url: $url, secret: $secret}}) "
            "{ ... on NotificationChannel { id hasSecret } } }",
            url=receiver.url("/hook"),
            secret=SECRET,
        )
        channel = created["createChannel"]["id"]
        queued = await graphql(
            client,
            "mutation($id: ID!) { testChannel(id: $id) { ... on Delivery { idempotencyKey } } }",
            id=channel,
        )
        key = queued["testChannel"]["idempotencyKey"]
        worker = start_worker(database_url, "w1")
        await worker.ready()

        async def delivery() -> dict[str, Any]:
            data = await graphql(
                client,
                "query($c: ID) { deliveries(channelId: $c) { edges { node { "
                "idempotencyKey state attempts lastError sentAt } } } }",
                c=channel,
            )
            node: dict[str, Any] = data["deliveries"]["edges"][0]["node"]
            return node

        sent = await poll_until(delivery, lambda d: d["state"] == "SENT", within=15)
    assert sent["state"] == "SENT", worker.output
    assert (sent["idempotencyKey"], sent["attempts"], sent["lastError"]) == (key, 1, None)
    [request] = receiver.on("/hook")
    assert request.key == key and request.document["event"] == "test"
    signature = hmac.new(SECRET.encode(), request.body, hashlib.sha256).hexdigest()
    assert request.headers["x-uptime-signature"] == f"sha256={signature}"
