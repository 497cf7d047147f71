"""The dashboard at /ui in a real browser against the real product: add a target, watch it
go UP and DOWN live, see validation errors by their field, delete it; the page talks to no
host but its own; a token is asked for once."""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from playwright.async_api import Page, expect

from tests.browser.conftest import Hosts, StartUptime, Uptime
from tests.support.peers import HttpPeer
from tests.support.wait import poll_until
from uptime_core.runtime.db import libpq_url

INTERVAL = 1
FAILURE_THRESHOLD = 2


async def open_dashboard(page: Page, uptime: Uptime) -> None:
    await page.goto(f"{uptime.url}/ui")
    await expect(page.get_by_role("heading", name="Targets")).to_be_visible()
    await expect(page.locator("#live-state")).to_have_text("Live")
    # Set once; a reload would lose it, so finding it later proves the page never reloaded.
    await page.evaluate("window.loadedOnce = true")


async def test_add_watch_up_and_down_validate_and_delete(
    page: Page, page_hosts: Hosts, uptime: Uptime, artifacts: Path
) -> None:
    peer = await HttpPeer().start("127.0.0.1", None)
    try:
        await open_dashboard(page, uptime)
        await expect(page.locator("#overview-note")).to_have_text("No targets yet: add one.")

        # Add an HTTP target pointing at the local server.
        await page.get_by_role("link", name="Add target").click()
        await page.get_by_label("Name").fill("local shop")
        await page.get_by_label("URL").fill(peer.url("/ok"))
        await page.get_by_label("Interval (s)", exact=True).fill(str(INTERVAL))
        await page.get_by_label("Timeout (s)").fill("1")
        await page.get_by_label("Down after failures").fill(str(FAILURE_THRESHOLD))
        await page.get_by_label("Keyword", exact=True).fill("operational")
        await page.get_by_role("button", name="Add target").click()
        await expect(page.get_by_role("heading", name="local shop")).to_be_visible()

        # Back on the overview it becomes UP, from the subscriptions alone.
        await page.get_by_role("link", name="All targets").click()
        row = page.locator("tbody#rows tr", has_text="local shop")
        await expect(row.locator(".badge")).to_have_text("UP", timeout=INTERVAL * 3_000 + 3_000)
        await expect(page.locator("#count-up")).to_have_text("1")
        strip = row.get_by_role("img")
        await expect(strip).to_have_attribute("aria-label", re.compile(r"0 failed; latest UP$"))
        assert "var(--up)" in await strip.evaluate("e => e.style.backgroundImage")
        await page.screenshot(path=artifacts / "overview.png", full_page=True)

        # A second tab on the target's page follows too, incidents included.
        second = await page.context.new_page()
        second.on("websocket", lambda socket: page_hosts.add(socket.url))
        href = await row.get_by_role("link").get_attribute("href")
        await second.goto(f"{uptime.url}/ui/{href}")
        await expect(second.locator("#live-state")).to_have_text("Live")
        await expect(second.get_by_text("No incidents.")).to_be_visible()

        # Stop the server: DOWN within failure threshold x interval + 3 s.
        await peer.stop()
        stopped = time.monotonic()
        allowed = FAILURE_THRESHOLD * INTERVAL + 3
        await expect(row.locator(".badge")).to_have_text("DOWN", timeout=allowed * 1000)
        took = time.monotonic() - stopped
        assert took <= allowed, took
        await expect(page.locator("#count-down")).to_have_text("1")
        await expect(strip).to_have_attribute(
            "aria-label", re.compile(r"[1-9]\d* failed; latest DOWN$")
        )
        assert "var(--down)" in await strip.evaluate("e => e.style.backgroundImage")
        assert await page.evaluate("window.loadedOnce === true"), "the page was reloaded"
        await expect(second.locator("#target-status .badge")).to_have_text("DOWN")
        await expect(second.locator("#incidents")).to_contain_text("ongoing")
        await second.close()

        # The target's page: chart, recent checks with their errors, the open incident.
        await row.get_by_role("link", name="local shop").click()
        await expect(page.locator("#target-status .badge")).to_have_text("DOWN")
        await expect(page.locator("#chart svg[role=img]")).to_be_visible()
        p95_line = page.locator("#chart path.p95")
        await expect(p95_line).to_have_attribute("d", re.compile(r"^M[0-9.,]+"))
        await expect(page.locator("#checks tr").first.locator(".error-text")).not_to_be_empty()
        await expect(page.get_by_text("ongoing")).to_be_visible()
        await page.get_by_label("Window").select_option("LAST_24_HOURS")
        chart = page.locator("#chart svg")
        await expect(chart).to_have_attribute("aria-label", re.compile(r"\d+ checks"))
        await page.screenshot(path=artifacts / "target.png", full_page=True)

        # An invalid port: the API's message appears by the port field; nothing is created.
        await page.goto(f"{uptime.url}/ui/#/new")
        await page.get_by_label("Name").fill("bad port")
        await page.get_by_label("TCP").check()
        await page.get_by_label("Host").fill("127.0.0.1")
        await page.get_by_label("Port").fill("70000")
        await page.get_by_role("button", name="Add target").click()
        port_field = page.locator('.field[data-field="port"]')
        await expect(port_field.locator(".field-error")).to_have_text("must be between 1 and 65535")
        await expect(port_field.get_by_label("Port")).to_have_attribute("aria-invalid", "true")
        await expect(page.locator('.field[data-field="host"] .field-error')).to_be_hidden()
        await page.screenshot(path=artifacts / "validation.png", full_page=True)

        # Delete, with confirmation; it is gone from the overview and from the API.
        await page.get_by_role("link", name="All targets").click()
        await page.locator("tbody#rows tr", has_text="local shop").get_by_role("link").click()
        await page.get_by_role("button", name="Delete").click()
        dialog = page.locator("dialog#confirm")
        await expect(dialog).to_contain_text("local shop")
        await dialog.get_by_role("button", name="Delete").click()
        await expect(page.get_by_role("heading", name="Targets")).to_be_visible()
        await expect(page.locator("tbody#rows tr")).to_have_count(0)
        async with httpx.AsyncClient(base_url=uptime.url) as client:
            query = {"query": "{ targets { edges { cursor } } }"}
            answer = await client.post("/graphql", json=query)
        assert answer.json()["data"]["targets"]["edges"] == []
    finally:
        if peer._server is not None and peer._server.is_serving():
            await peer.stop()

    # Must-show 2: nothing but the app's own host, over HTTP and WebSocket alike.
    assert page_hosts.urls, "requests were recorded"
    assert page_hosts.hosts == {uptime.host}, page_hosts.hosts
    assert any(url.startswith("ws://") for url in page_hosts.urls), "subscriptions in use"
    assert page_hosts.errors == []


async def test_the_token_is_asked_once_and_kept(
    page: Page, page_hosts: Hosts, start_uptime: StartUptime
) -> None:
    uptime = start_uptime(token="browser-s3cret", worker=False)
    await page.goto(f"{uptime.url}/ui/")
    dialog = page.locator("dialog#token")
    await expect(dialog).to_be_visible()
    await dialog.get_by_label("API token").fill("wrong")
    await dialog.get_by_role("button", name="Use token").click()
    await expect(dialog).to_contain_text("refused")  # asked again, saying why
    await dialog.get_by_label("API token").fill("browser-s3cret")
    await dialog.get_by_role("button", name="Use token").click()
    await expect(page.locator("#overview-note")).to_have_text("No targets yet: add one.")
    await expect(page.locator("#live-state")).to_have_text("Live")

    await page.reload()
    await expect(page.locator("#live-state")).to_have_text("Live")
    await expect(page.locator("#overview-note")).to_have_text("No targets yet: add one.")
    await expect(dialog).to_be_hidden()
    assert await page.evaluate("localStorage.getItem('uptime.token')") == "browser-s3cret"
    await page.get_by_role("button", name="Forget token").click()
    assert await page.evaluate("localStorage.getItem('uptime.token')") is None
    await expect(page.get_by_role("button", name="Forget token")).to_be_hidden()
    assert page_hosts.hosts == {uptime.host}
    assert page_hosts.errors == []


async def sideways_overflow(page: Page) -> int:
    width: int = await page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    return width


async def test_readable_at_375_pixels_and_usable_by_keyboard(
    page: Page, page_hosts: Hosts, start_uptime: StartUptime, artifacts: Path
) -> None:
    uptime = start_uptime(worker=False)
    await page.set_viewport_size({"width": 375, "height": 740})
    await open_dashboard(page, uptime)
    # Keyboard only: tab to "Add target", press Enter, type into the focused name field.
    for _ in range(12):
        await page.keyboard.press("Tab")
        if await page.evaluate("document.activeElement.textContent.trim() === 'Add target'"):
            break
    await page.keyboard.press("Enter")
    await expect(page.get_by_label("Name")).to_be_focused()
    await page.keyboard.type("keyboard target")
    await page.get_by_label("URL").fill("http://127.0.0.1:9/")
    await page.get_by_label("URL").press("Enter")  # submits the form
    await expect(page.get_by_role("heading", name="keyboard target")).to_be_visible()
    assert await sideways_overflow(page) <= 0, "the target page scrolls sideways at 375 px"
    await page.get_by_role("link", name="All targets").click()
    await expect(page.locator("tbody#rows tr")).to_have_count(1)
    assert await sideways_overflow(page) <= 0, "the overview scrolls sideways at 375 px"
    await page.screenshot(path=artifacts / "overview-375.png", full_page=True)
    # Every form control has an accessible name.
    await page.goto(f"{uptime.url}/ui/#/new")
    unlabelled = await page.evaluate(
        """[...document.querySelectorAll('input, select, textarea')]
             .filter(el => !el.labels?.length && !el.getAttribute('aria-label'))
             .map(el => el.name || el.id)"""
    )
    assert unlabelled == []
    assert page_hosts.errors == []


async def graphql(uptime: Uptime, query: str, **variables: object) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=uptime.url) as client:
        answer = await client.post("/graphql", json={"query": query, "variables": variables})
    body: dict[str, Any] = answer.json()
    assert "errors" not in body, body
    data: dict[str, Any] = body["data"]
    return data


async def test_check_now_pause_resume_and_edit(
    page: Page, page_hosts: Hosts, uptime: Uptime, artifacts: Path
) -> None:
    peer = await HttpPeer().start("127.0.0.1", None)
    try:
        # Checked hourly, so the only check in this test is the one asked for.
        created = await graphql(
            uptime,
            """mutation($url: String!) { createTarget(input: {name: "api", kind: HTTP, url: $url,
                 intervalSeconds: 3600, http: {headers: [{name: "X-Key", value: "s3cret"}]}})
                 { ... on Target { id } } }""",
            url=peer.url("/ok"),
        )
        target_id = created["createTarget"]["id"]
        await page.goto(f"{uptime.url}/ui/#/target/{target_id}")
        await expect(page.locator("#live-state")).to_have_text("Live")
        await expect(page.get_by_text("No checks yet.")).to_be_visible()

        await page.get_by_role("button", name="Check now").click()
        await expect(page.locator("#checks tr")).to_have_count(1)
        await expect(page.locator("#checks tr .badge")).to_have_text("UP")

        await page.get_by_role("button", name="Pause").click()
        await expect(page.locator("#target-status .badge")).to_have_text("PAUSED")
        await page.get_by_role("link", name="All targets").click()
        await expect(page.locator("#count-paused")).to_have_text("1")
        await page.get_by_role("link", name="api").click()
        await page.get_by_role("button", name="Resume").click()
        await expect(page.get_by_role("button", name="Pause")).to_be_visible()
        await expect(page.locator("#target-status .badge")).not_to_have_text("PAUSED")

        # Edit: the header's value is never shown, and is kept when the field stays empty.
        await page.get_by_role("link", name="Edit").click()
        await expect(page.get_by_label("Name")).to_have_value("api")
        await expect(page.locator('.field[data-field="http.headers"] .hint')).to_contain_text(
            "X-Key"
        )
        assert "s3cret" not in await page.content()
        await page.get_by_label("Name").fill("api v2")
        await page.get_by_label("Keyword", exact=True).fill("operational")
        await page.get_by_label("Method").select_option("HEAD")
        await page.screenshot(path=artifacts / "edit.png", full_page=True)
        await page.get_by_role("button", name="Save").click()
        await expect(page.get_by_role("heading", name="api v2")).to_be_visible()
    finally:
        await peer.stop()
    stored = await graphql(
        uptime,
        "query($id: ID!) { target(id: $id) { name http { method keyword headers { name } } } }",
        id=target_id,
    )
    assert stored["target"] == {
        "name": "api v2",
        "http": {"method": "HEAD", "keyword": "operational", "headers": [{"name": "X-Key"}]},
    }
    assert page_hosts.hosts == {uptime.host}
    assert page_hosts.errors == []


async def test_option_problems_appear_by_their_fields_and_other_kinds_are_added(
    page: Page, page_hosts: Hosts, start_uptime: StartUptime
) -> None:
    uptime = start_uptime(worker=False)
    await page.goto(f"{uptime.url}/ui/#/new")
    await page.get_by_label("Name").fill("json check")
    await page.get_by_label("URL").fill("http://127.0.0.1:9/health")
    await page.get_by_label("JSON path").fill("$.status")
    await page.get_by_label("Operator").select_option("contains")
    await page.get_by_label("Fail when the keyword is present").check()
    await page.get_by_label("Interval (s)", exact=True).fill("often")
    await page.get_by_role("button", name="Add target").click()
    # A word where a number goes is caught in the page (GraphQL would name no field).
    interval = page.locator('.field[data-field="intervalSeconds"] .field-error')
    await expect(interval).to_have_text("must be a whole number")
    await page.get_by_label("Interval (s)", exact=True).fill("30")
    await page.get_by_role("button", name="Add target").click()
    await expect(interval).to_be_hidden()
    # The API's problems with options land by the option's own field.
    value = page.locator('.field[data-field="http.jsonAssertion.value"] .field-error')
    await expect(value).to_contain_text("needs a value")
    keyword = page.locator('.field[data-field="http.keywordAbsent"] .field-error')
    await expect(keyword).to_contain_text("needs a keyword")
    await expect(page.locator(".form-error")).to_have_text("2 fields need attention.")

    # TCP and ICMP targets are added with their own fields.
    for kind, name in (("TCP", "database"), ("ICMP", "router")):
        await page.goto(f"{uptime.url}/ui/#/new")
        await page.get_by_label("Name").fill(name)
        await page.get_by_label(kind, exact=True).check()
        await expect(page.get_by_label("URL")).to_be_hidden()
        await page.get_by_label("Host").fill("127.0.0.1")
        if kind == "TCP":
            await page.get_by_label("Port").fill("5432")
        else:
            await expect(page.get_by_label("Port")).to_be_hidden()
        await page.get_by_role("button", name="Add target").click()
        await expect(page.get_by_role("heading", name=name)).to_be_visible()
    await page.get_by_role("link", name="All targets").click()
    await expect(page.locator("tbody#rows tr")).to_have_count(2)
    await expect(page.locator("tbody#rows")).to_contain_text("TCP · 127.0.0.1:5432")
    await expect(page.locator("tbody#rows")).to_contain_text("ICMP · 127.0.0.1")
    assert page_hosts.hosts == {uptime.host}
    assert page_hosts.errors == []


async def test_after_the_api_restarts_the_page_reconnects_and_catches_up(
    page: Page, page_hosts: Hosts, uptime: Uptime, database_url: str
) -> None:
    peer = await HttpPeer().start("127.0.0.1", None)
    db = await asyncpg.connect(libpq_url(database_url))
    try:
        await graphql(
            uptime,
            """mutation($url: String!) { createTarget(input: {name: "web", kind: HTTP, url: $url,
                 intervalSeconds: 1, timeoutSeconds: 1}) { ... on Target { id } } }""",
            url=peer.url("/ok"),
        )
        await open_dashboard(page, uptime)
        badge = page.locator("tbody#rows tr", has_text="web").locator(".badge")
        await expect(badge).to_have_text("UP", timeout=6_000)

        # The API goes away; while it is away the target goes down (an event nobody hears).
        await asyncio.to_thread(uptime.stop_api)
        await expect(page.locator("#live-state")).to_have_text("Reconnecting…")
        await peer.stop()

        async def status() -> str:
            value: str = await db.fetchval("SELECT status FROM target")
            return value

        assert await poll_until(status, lambda s: s == "down", within=10) == "down"
        await expect(badge).to_have_text("UP")  # the page has not heard of it
        await asyncio.to_thread(uptime.start_api)
        await asyncio.to_thread(uptime.wait_until_ready)

        # Back: connected again, and what it missed is read afresh, without a reload.
        await expect(page.locator("#live-state")).to_have_text("Live", timeout=15_000)
        await expect(badge).to_have_text("DOWN")
        assert await page.evaluate("window.loadedOnce === true"), "the page was reloaded"
    finally:
        await db.close()
        if peer._server is not None and peer._server.is_serving():
            await peer.stop()
    assert page_hosts.hosts == {uptime.host}
    # While the API was away the browser logged its refused connections; nothing else.
    unexpected = [e for e in page_hosts.errors if "ERR_CONNECTION_REFUSED" not in e]
    assert unexpected == [], unexpected
