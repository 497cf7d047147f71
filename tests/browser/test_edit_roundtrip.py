"""Edit → Save in /ui without changes leaves the stored target byte-identical, for an HTTP, a
TCP and an ICMP target with non-default options: the form shows what was stored (secrets
redacted or left out) and sends back nothing it was not asked to change.

No worker runs here: nothing but the form touches the rows, so the whole row is compared,
bookkeeping columns included (``updated_at`` too: an update that changes nothing writes
nothing). Targets point at loopback addresses, and are never checked anyway.
"""

from __future__ import annotations

import json
from typing import Any

import asyncpg
import httpx
import pytest
from playwright.async_api import Page, Request, expect

from tests.browser.conftest import Hosts, StartUptime, Uptime

PASSWORD = "pa55-w0rd-s3cret"
HEADER_SECRET = "Bearer header-s3cret"
BODY_SECRET = "body-s3cret"

HTTP: dict[str, Any] = {
    "name": "shop (http)",
    "kind": "HTTP",
    "url": f"http://monitor:{PASSWORD}@127.0.0.1:9/health?full=1",
    "intervalSeconds": 45,
    "timeoutSeconds": 7.5,
    "failureThreshold": 3,
    "recoveryThreshold": 4,
    "http": {
        "method": "POST",
        "headers": [
            {"name": "Authorization", "value": HEADER_SECRET},
            {"name": "Host", "value": "vhost.example"},
        ],
        "body": f'{{"probe": "{BODY_SECRET}"}}',
        "acceptedStatusCodes": ["200", "300-308"],
        "followRedirects": False,
        "maxRedirects": 3,
        "verifyTls": False,
        "keyword": "healthy",
        "jsonAssertion": {"path": "$.checks[0].ms", "operator": "<=", "value": 1.0},
        "degradedLatencyMs": 250.5,
        "certExpiryDays": 14,
        "ipFamily": "ipv6",
    },
}
TCP: dict[str, Any] = {
    "name": "db (tcp)",
    "kind": "TCP",
    "host": "::1",
    "port": 9,
    "intervalSeconds": 30,
    "timeoutSeconds": 2.0,
    "failureThreshold": 1,
    "recoveryThreshold": 5,
    "tcp": {
        "tls": True,
        "verifyTls": False,
        "certExpiryDays": 21,
        "degradedLatencyMs": 80.0,
        "ipFamily": "ipv6",
    },
}
ICMP: dict[str, Any] = {
    "name": "router (icmp)",
    "kind": "ICMP",
    "host": "localhost",
    "intervalSeconds": 20,
    "timeoutSeconds": 1.5,
    "failureThreshold": 5,
    "recoveryThreshold": 1,
    "icmp": {"degradedLatencyMs": 12.25, "ipFamily": "ipv6"},
}


async def create(uptime: Uptime, fields: dict[str, Any]) -> str:
    """Create through the API; the target's id."""
    query = """mutation($input: CreateTargetInput!) { createTarget(input: $input) {
        ... on Target { id } ... on ValidationError { message } } }"""
    async with httpx.AsyncClient(base_url=uptime.url) as client:
        answer = await client.post(
            "/graphql", json={"query": query, "variables": {"input": fields}}
        )
    created = answer.json()["data"]["createTarget"]
    assert "id" in created, created
    target_id: str = created["id"]
    return target_id


async def row_of(db: asyncpg.Connection, name: str) -> str:
    text = await db.fetchval("SELECT to_jsonb(t)::text FROM target AS t WHERE name = $1", name)
    assert isinstance(text, str)
    return text


def updates_sent(page: Page) -> list[dict[str, Any]]:
    """Every updateTarget input the page sends, as sent."""
    sent: list[dict[str, Any]] = []

    def record(request: Request) -> None:
        if request.method == "POST" and request.url.endswith("/graphql"):
            body = json.loads(request.post_data or "{}")
            if "updateTarget" in body.get("query", ""):
                sent.append(body["variables"]["input"])

    page.on("request", record)
    return sent


async def open_edit_and_save(page: Page, uptime: Uptime, target_id: str, name: str) -> None:
    await page.goto(f"{uptime.url}/ui/#/target/{target_id}/edit")
    await expect(page.get_by_label("Name")).to_have_value(name)
    content = await page.content()
    for secret in (PASSWORD, HEADER_SECRET, BODY_SECRET):
        assert secret not in content
    await save(page)
    await expect(page.locator("#target-title")).to_contain_text(name)


async def save(page: Page) -> None:
    """Click Save and wait for the API's answer to the update (a Target, no errors)."""
    async with page.expect_response(
        lambda r: r.url.endswith("/graphql") and "updateTarget" in (r.request.post_data or "")
    ) as answered:
        await page.get_by_role("button", name="Save").click()
    body = await (await answered.value).json()
    assert "errors" not in body, body
    assert "id" in body["data"]["result"], body


@pytest.fixture
async def ui(start_uptime: StartUptime) -> Uptime:
    return start_uptime(worker=False)


async def test_edit_then_save_without_changes_keeps_each_row_byte_identical(
    page: Page, page_hosts: Hosts, ui: Uptime, db: asyncpg.Connection
) -> None:
    sent = updates_sent(page)
    for fields in (HTTP, TCP, ICMP):
        target_id = await create(ui, fields)
        before = await row_of(db, fields["name"])
        await open_edit_and_save(page, ui, target_id, fields["name"])
        assert await row_of(db, fields["name"]) == before, fields["kind"]
        assert sent[-1] == {"id": target_id}, "nothing named, nothing changed"

    # The form showed what was stored, not defaults (and the URL's password as ***).
    http_id = await create(ui, {**HTTP, "name": "shown"})
    await page.goto(f"{ui.url}/ui/#/target/{http_id}/edit")
    form = page.locator("form.target-form")
    await expect(form.locator('[name="url"]')).to_have_value(
        "http://monitor:***@127.0.0.1:9/health?full=1"
    )
    await expect(form.locator('[name="http.method"]')).to_have_value("POST")
    await expect(form.locator('[name="http.verifyTls"]')).not_to_be_checked()
    await expect(form.locator('[name="http.followRedirects"]')).not_to_be_checked()
    await expect(form.locator('[name="http.ipFamily"]')).to_have_value("ipv6")
    await expect(form.locator('[name="http.acceptedStatusCodes"]')).to_have_value("200, 300-308")
    await expect(form.locator('[name="http.jsonAssertion.operator"]')).to_have_value("<=")
    await expect(form.locator('.field[data-field="http.headers"] .hint')).to_contain_text(
        "Authorization, Host"
    )

    assert page_hosts.hosts == {ui.host}
    assert page_hosts.errors == []


async def test_the_form_shows_tcp_and_icmp_options_and_sends_only_what_changed(
    page: Page, page_hosts: Hosts, ui: Uptime, db: asyncpg.Connection
) -> None:
    sent = updates_sent(page)
    tcp_id = await create(ui, TCP)
    icmp_id = await create(ui, ICMP)

    await page.goto(f"{ui.url}/ui/#/target/{tcp_id}/edit")
    form = page.locator("form.target-form")
    await expect(form.locator('[name="tcp.tls"]')).to_be_checked()
    await expect(form.locator('[name="tcp.verifyTls"]')).not_to_be_checked()
    await expect(form.locator('[name="tcp.certExpiryDays"]')).to_have_value("21")
    await expect(form.locator('[name="tcp.degradedLatencyMs"]')).to_have_value("80")
    await expect(form.locator('[name="tcp.ipFamily"]')).to_have_value("ipv6")
    before = json.loads(await row_of(db, TCP["name"]))
    await form.locator('[name="tcp.degradedLatencyMs"]').fill("95")
    await save(page)
    await expect(page.locator("#target-title")).to_contain_text(TCP["name"])
    assert sent[-1] == {"id": tcp_id, "tcp": {"degradedLatencyMs": 95}}
    after = json.loads(await row_of(db, TCP["name"]))
    assert after["options"] == {**before["options"], "degradedLatencyMs": 95.0}
    changed = {key for key in before if before[key] != after[key]}
    # A change of the options is a change of the probe: its next slot moves to a new one
    # (within a second), so that a check with the old options is fenced out.
    assert changed == {"options", "updated_at", "next_run_at"}

    await page.goto(f"{ui.url}/ui/#/target/{icmp_id}/edit")
    await expect(form.locator('[name="icmp.ipFamily"]')).to_have_value("ipv6")
    await expect(form.locator('[name="icmp.degradedLatencyMs"]')).to_have_value("12.25")
    assert page_hosts.errors == []
