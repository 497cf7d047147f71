"""Badges over real HTTP: SVG that parses, whose message and colour follow the target; the
same 404 for a private key, an unknown key and an unknown window; cached for a minute."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
from pydantic import SecretStr

from tests.graphql.conftest import Api, ServeApi
from tests.support.targets import TargetSpec, insert_targets, record_history
from uptime_core.runtime.settings import Settings

SVG = "{http://www.w3.org/2000/svg}"


def badge(answer: httpx.Response) -> tuple[str, str, str]:
    """(title, message, message colour) of a badge answer, from its parsed SVG."""
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "image/svg+xml"
    assert answer.headers["cache-control"] == "public, max-age=60"
    root = ET.fromstring(answer.text)
    assert root.tag == f"{SVG}svg"
    title = root.findtext(f"{SVG}title")
    assert title is not None
    [message_rect] = [r for r in root.iter(f"{SVG}rect") if r.get("x") is not None]
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert len(texts) == 4, "label and message, each with its shadow"
    assert int(root.get("width", "0")) > 0
    return title, str(texts[-1]), str(message_rect.get("fill"))


async def seed(db: asyncpg.Connection) -> tuple[int, int]:
    """A public target "Shop & Co" (key shop-co) and a private one (key secret)."""
    ids = await insert_targets(
        db,
        [
            TargetSpec(kind="tcp", host="127.0.0.1", port=9, name="Shop & Co"),
            TargetSpec(kind="tcp", host="127.0.0.1", port=9, name="Secret"),
        ],
    )
    await db.execute("UPDATE target SET public = true WHERE id = $1", ids[0])
    return ids[0], ids[1]


async def test_badges_follow_the_target_and_escape_its_name(
    serve_api: ServeApi, database_url: str, db: asyncpg.Connection
) -> None:
    public, _ = await seed(db)
    now = datetime.now(UTC).replace(microsecond=0)
    async with serve_api(database_url) as base, httpx.AsyncClient(base_url=base) as client:
        # Before any check: a grey state, and no data rather than 0 % or 100 %.
        title, message, colour = badge(await client.get("/badge/shop-co/status.svg"))
        assert (title, message, colour) == ("Shop & Co: unknown", "unknown", "#9f9f9f")
        assert badge(await client.get("/badge/shop-co/uptime/24h.svg"))[1:] == (
            "no data",
            "#9f9f9f",
        )
        assert badge(await client.get("/badge/shop-co/latency.svg"))[1] == "no data"

        await record_history(db, public, [(now - timedelta(minutes=2), "down", None)])
        await db.execute("UPDATE target SET status = 'down' WHERE id = $1", public)
        assert badge(await client.get("/badge/shop-co/status.svg"))[1:] == ("down", "#e05d44")
        assert badge(await client.get("/badge/shop-co/uptime/7d.svg"))[1:] == (
            "0.00%",
            "#e05d44",
        )

        await record_history(db, public, [(now - timedelta(minutes=1), "up", 150.0)])
        await db.execute("UPDATE target SET status = 'up' WHERE id = $1", public)
        assert badge(await client.get("/badge/shop-co/status.svg"))[1:] == ("up", "#4c1")
        title, message, colour = badge(await client.get("/badge/shop-co/uptime/30d.svg"))
        assert (title, message, colour) == ("uptime 30d: 50.00%", "50.00%", "#e05d44")
        assert badge(await client.get("/badge/shop-co/uptime/90d.svg"))[1] == "50.00%"
        assert badge(await client.get("/badge/shop-co/latency.svg"))[1:] == ("150 ms", "#4c1")

        await db.execute(
            "UPDATE target SET paused = true, next_run_at = NULL WHERE id = $1", public
        )
        assert badge(await client.get("/badge/shop-co/status.svg"))[1:] == ("paused", "#9f9f9f")


async def test_private_unknown_key_and_bad_window_are_the_same_404(
    serve_api: ServeApi, database_url: str, db: asyncpg.Connection
) -> None:
    await seed(db)
    async with serve_api(database_url) as base, httpx.AsyncClient(base_url=base) as client:
        answers = [
            await client.get(path)
            for path in (
                "/badge/secret/status.svg",
                "/badge/secret/uptime/24h.svg",
                "/badge/secret/latency.svg",
                "/badge/no-such-key/status.svg",
                "/badge/no-such-key/uptime/7d.svg",
                "/badge/shop-co/uptime/1y.svg",
                "/badge/shop-co/uptime/1h.svg",
            )
        ]
        assert (await client.get("/badge/shop-co/status.svg")).status_code == 200
    assert {a.status_code for a in answers} == {404}
    assert {a.text for a in answers} == {"no such badge\n"}


async def test_badges_need_no_token(
    serve_api: ServeApi, database_url: str, db: asyncpg.Connection
) -> None:
    await seed(db)
    settings = Settings(database_url=database_url, api_token=SecretStr("s3cret-token"))
    async with (
        serve_api(database_url, settings) as base,
        httpx.AsyncClient(base_url=base) as client,
    ):
        assert badge(await client.get("/badge/shop-co/status.svg"))[1] == "unknown"
        assert (await client.get("/badge/secret/status.svg")).status_code == 404


async def test_public_set_through_the_api_turns_the_badges_on_and_off(api: Api) -> None:
    created = await api.data(
        """mutation { createTarget(input: {name: "Web", kind: TCP, host: "127.0.0.1", port: 9,
                                           public: true}) {
             ... on Target { id key public } } }"""
    )
    target = created["createTarget"]
    assert (target["key"], target["public"]) == ("web", True)
    status = await api.client.get("/badge/web/status.svg")
    assert badge(status)[:2] == ("Web: unknown", "unknown")  # before its first check

    updated = await api.data(
        "mutation($id: ID!) { updateTarget(input: {id: $id, public: false}) "
        "{ ... on Target { public } } }",
        id=target["id"],
    )
    assert updated["updateTarget"] == {"public": False}
    hidden = await api.client.get("/badge/web/status.svg")
    assert (hidden.status_code, hidden.text) == (404, "no such badge\n")
