"""The dashboard with a read token (issue 20): the header says it can look but not change, and
a change it tries shows the API's FORBIDDEN message (naming the scope), not a generic failure;
nothing is changed."""

from __future__ import annotations

from typing import Any

import httpx
from playwright.async_api import Page, expect

from tests.browser.conftest import Hosts, StartUptime

ADMIN = "browser-admin-s3cret-0123456789"


async def test_a_read_token_is_told_what_it_cannot_do(
    page: Page, page_hosts: Hosts, start_uptime: StartUptime
) -> None:
    uptime = start_uptime(token=ADMIN, worker=False)

    async def graphql(query: str, **variables: object) -> dict[str, Any]:
        async with httpx.AsyncClient(base_url=uptime.url) as client:
            answer = await client.post(
                "/graphql",
                json={"query": query, "variables": variables},
                headers={"authorization": f"Bearer {ADMIN}"},
            )
        body: dict[str, Any] = answer.json()
        assert "errors" not in body, body
        data: dict[str, Any] = body["data"]
        return data

    created = await graphql(
        'mutation { createTarget(input: {name: "db", kind: TCP, host: "127.0.0.1", port: 9, '
        "intervalSeconds: 3600}) { ... on Target { id } } }"
    )
    target_id = created["createTarget"]["id"]
    made = await graphql(
        'mutation { createApiToken(input: {name: "wallboard", scope: READ}) '
        "{ ... on CreatedApiToken { token } } }"
    )
    read_token = made["createApiToken"]["token"]

    await page.goto(f"{uptime.url}/ui/#/target/{target_id}")
    dialog = page.locator("dialog#token")
    await dialog.get_by_label("API token").fill(read_token)
    await dialog.get_by_role("button", name="Use token").click()
    await expect(page.locator("#live-state")).to_have_text("Live")
    note = page.locator("#token-scope")
    await expect(note).to_be_visible()
    await expect(note).to_contain_text("Read-only token: you can look but not change")

    await page.get_by_role("button", name="Pause").click()
    banner = page.locator("#error")
    await expect(banner).to_be_visible()
    await expect(banner).to_contain_text("pauseTarget needs a write token; this token is read")
    stored = await graphql("query($id: ID!) { target(id: $id) { paused } }", id=target_id)
    assert stored["target"] == {"paused": False}

    # With the admin token the note goes.
    await page.get_by_role("button", name="Forget token").click()
    await expect(note).to_be_hidden()
    await page.evaluate(f"localStorage.setItem('uptime.token', {ADMIN!r})")
    await page.reload()
    await expect(page.locator("#live-state")).to_have_text("Live")
    await expect(note).to_be_hidden()
    assert page_hosts.hosts == {uptime.host}
    assert page_hosts.errors == []
