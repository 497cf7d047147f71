"""Must-show 1 of issue 20: a public status page in Chromium against `uptime api`: two groups
with the right statuses, 90 daily bars per target from history seeded through the database,
an incident with two operator updates in order, a scheduled maintenance; no request to another
host; screenshots at 1280 and 375 px; the JSON and the Atom feed (feedparser) agree with the
page; no URL or host of a target appears in any of them."""

from __future__ import annotations

import base64
import json
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import feedparser
import httpx
from playwright.async_api import Page, expect

from tests.browser.conftest import Hosts, StartUptime
from tests.support.status_pages import add_incident, add_maintenance, seed_days, today
from tests.support.targets import TargetSpec, insert_targets
from uptime_core.runtime.db import libpq_url

# What a target's settings hold and a status page must never show.
SECRETS = [
    "https://shop-backend.corp.example:8443/health",
    "shop-backend.corp.example",
    "payments.corp.example",
    "10.20.30.40",
    "db-primary.corp.example",
    "corp.example",
    "Connection refused",
]
TARGETS = [
    # name, spec, status, down hours per day ago
    ("Web shop", TargetSpec("http", url=SECRETS[0], interval_seconds=3600), "up", {5: 4}),
    (
        "Payments",
        TargetSpec("http", url="https://payments.corp.example/", interval_seconds=3600),
        "down",
        {0: 1, 40: 12},
    ),
    ("Edge router", TargetSpec("icmp", host="10.20.30.40", interval_seconds=3600), "degraded", {}),
    (
        "Database",
        TargetSpec("tcp", host="db-primary.corp.example", port=5432, interval_seconds=3600),
        "up",
        {},
    ),
]
LABELS = {"up": "Operational", "down": "Down", "degraded": "Degraded"}
UPDATES = [
    ("INVESTIGATING", "We are looking into failed payments."),
    ("IDENTIFIED", "A card processor is failing; we are switching to the spare one."),
]


def gid(kind: str, key: int) -> str:
    return base64.urlsafe_b64encode(f"{kind}:{key}".encode()).decode()


async def _graphql(client: httpx.AsyncClient, query: str, **variables: Any) -> dict[str, Any]:
    response = await client.post("/graphql", json={"query": query, "variables": variables})
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body
    return body["data"]


async def _seed(db: asyncpg.Connection) -> tuple[list[int], int]:
    specs = []
    for name, spec, _, _ in TARGETS:
        spec.name = name
        specs.append(spec)
    ids = await insert_targets(db, specs)
    for target_id, (_, _, status, down) in zip(ids, TARGETS, strict=True):
        await seed_days(db, target_id, down_hours=down)
        await db.execute("UPDATE target SET status = $2 WHERE id = $1", target_id, status)
    payments = ids[1]
    await add_incident(
        db,
        payments,
        today() - timedelta(days=40),
        today() - timedelta(days=40, hours=-12),
        cause="Connection refused",
    )
    open_incident = await add_incident(
        db, payments, datetime.now(UTC) - timedelta(minutes=30), None, cause="Connection refused"
    )
    start = (datetime.now(UTC) + timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
    await add_maintenance(db, "Database upgrade", ids[3], start, start + timedelta(hours=2))
    return ids, open_incident


async def test_status_page_in_chromium_with_json_and_feeds(
    page: Page, page_hosts: Hosts, start_uptime: StartUptime, database_url: str, artifacts: Path
) -> None:
    db = await asyncpg.connect(libpq_url(database_url))
    try:
        ids, incident = await _seed(db)
    finally:
        await db.close()
    uptime = start_uptime(worker=False)
    async with httpx.AsyncClient(base_url=uptime.url, timeout=10) as client:
        created = await _graphql(
            client,
            """mutation($input: CreateStatusPageInput!) { createStatusPage(input: $input) {
                 ... on StatusPage { url } ... on ValidationError { field message } } }""",
            input={
                "slug": "acme",
                "title": "Acme status",
                "description": "Live status of Acme's public services.",
                "groups": [
                    {"name": "Shop", "targetIds": [gid("Target", i) for i in ids[:2]]},
                    {"name": "Infrastructure", "targetIds": [gid("Target", i) for i in ids[2:]]},
                ],
                "showLatency": True,
                "showUptimeWindows": ["LAST_24_HOURS", "LAST_30_DAYS", "LAST_90_DAYS"],
            },
        )
        assert created["createStatusPage"] == {"url": "/status/acme"}
        for status, message in UPDATES:
            await _graphql(
                client,
                """mutation($input: PostIncidentUpdateInput!) { postIncidentUpdate(input: $input) {
                     ... on IncidentUpdate { id } } }""",
                input={
                    "incidentId": gid("Incident", incident),
                    "status": status,
                    "message": message,
                },
            )
        json_body = (await client.get("/status/acme.json")).text
        atom_body = (await client.get("/status/acme/feed.atom")).text
        rss_body = (await client.get("/status/acme/feed.rss")).text

    await page.goto(f"{uptime.url}/status/acme")
    await expect(page.get_by_role("heading", name="Acme status", level=1)).to_be_visible()
    await expect(page.locator("#summary")).to_have_text("Some systems are down")
    groups = page.locator("section.group")
    await expect(groups).to_have_count(2)
    await expect(groups.nth(0).get_by_role("heading")).to_have_text("Shop")
    await expect(groups.nth(1).get_by_role("heading")).to_have_text("Infrastructure")
    rows = page.locator("li.target")
    await expect(rows).to_have_count(4)
    for n, (name, _, status, _) in enumerate(TARGETS):
        row = rows.nth(n)
        await expect(row.locator(".name")).to_have_text(name)
        await expect(row.locator(".status")).to_have_text(LABELS[status])
        await expect(row.locator(".bars i")).to_have_count(90)
    # Payments: 40 days ago half down (red), today one hour down with an incident (amber).
    payments_bars = rows.nth(1).locator(".bars i")
    assert await payments_bars.nth(49).get_attribute("class") == "d"
    assert "incident" in (await payments_bars.nth(49).get_attribute("title") or "")
    assert await payments_bars.nth(89).get_attribute("class") == "d"
    assert await rows.nth(3).locator(".bars i").nth(0).get_attribute("class") == "u"
    updates = page.locator("#incidents article").first.locator("li.update p")
    await expect(updates).to_have_text([message for _, message in UPDATES])
    await expect(page.locator("#incidents article")).to_have_count(2)
    await expect(page.locator("#maintenance")).to_contain_text("Database upgrade")
    await expect(page.locator("#maintenance")).to_contain_text("Scheduled")
    await page.screenshot(path=artifacts / "status-page-1280.png", full_page=True)

    await page.set_viewport_size({"width": 375, "height": 812})
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, width
    bar_width = (
        await rows.nth(0).locator(".bars i").nth(0).evaluate("e => e.getBoundingClientRect().width")
    )
    assert bar_width >= 2, bar_width
    await page.screenshot(path=artifacts / "status-page-375.png", full_page=True)
    assert page_hosts.hosts == {uptime.host}, page_hosts.urls
    assert page_hosts.errors == []

    # The JSON and the feeds say what the page says.
    data = json.loads(json_body)
    assert [g["name"] for g in data["groups"]] == ["Shop", "Infrastructure"]
    shown = [(t["name"], t["status"]) for g in data["groups"] for t in g["targets"]]
    assert shown == [(name, status) for name, _, status, _ in TARGETS]
    for n, target in enumerate(t for g in data["groups"] for t in g["targets"]):
        titles = (
            await rows.nth(n)
            .locator(".bars i")
            .evaluate_all("bars => bars.map(b => b.getAttribute('title'))")
        )
        assert [title.split(":")[0] for title in titles] == [d["date"] for d in target["days"]]
        assert [d["incident"] for d in target["days"]] == ["incident" in t for t in titles]
        figures = await rows.nth(n).locator(".figures").inner_text()
        ratio = target["uptime"][2]["ratio"]
        # Shown rounded down, so that 99.999 % never reads 100 %.
        expected = "100 %" if ratio == 1 else f"{math.floor(ratio * 10000) / 100:.2f} %"
        assert f"90 days: {expected}" in figures, figures
    current = data["incidents"][0]
    assert current["target"] == "Payments" and current["status"] == "identified"
    assert [(u["status"], u["message"]) for u in current["updates"]] == [
        (status.lower(), message) for status, message in UPDATES
    ]
    assert data["maintenance"][0]["name"] == "Database upgrade"
    atom = feedparser.parse(atom_body)
    assert not atom.bozo, atom.bozo_exception
    assert atom.feed.title == "Acme status"
    assert [e.title for e in atom.entries] == ["Payments: Identified", "Payments: Resolved"]
    content = atom.entries[0].content[0].value
    assert content.index(UPDATES[0][1]) < content.index(UPDATES[1][1])
    assert atom.entries[0].link.endswith(f"/status/acme#incident-{current['id']}")
    rss = feedparser.parse(rss_body)
    assert [e.title for e in rss.entries] == [e.title for e in atom.entries]

    html = await page.content()
    for text in (html, json_body, atom_body, rss_body):
        for secret in SECRETS:
            assert secret not in text, secret
        for target_id in ids:
            assert gid("Target", target_id) not in text
