"""Status pages through the API: the mutations (typed errors, nothing half-written), the
queries, Incident.updates, and the public routes (HTML, JSON, Atom, RSS) without a token, with
their cache."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import feedparser
import httpx
from pydantic import SecretStr

from tests.graphql.conftest import Api, ServeApi
from tests.support.status_pages import add_incident, add_maintenance, seed_days
from tests.support.targets import TargetSpec, insert_targets
from uptime_core.runtime.settings import Settings

SECRET_URL = "https://secret-api.internal.example:8443/health"
SECRETS = ("secret-api", "internal.example", "10.9.8.7", "refused by")

PAGE_FIELDS = """
  ... on StatusPage { id slug title description url showLatency showUptimeWindows
                      groups { name targets { name } } }
  ... on ValidationError { field message }
  ... on NotFoundError { id }
"""
CREATE = f"""
mutation($input: CreateStatusPageInput!) {{ createStatusPage(input: $input) {{ {PAGE_FIELDS} }} }}
"""
UPDATE = f"""
mutation($input: UpdateStatusPageInput!) {{ updateStatusPage(input: $input) {{ {PAGE_FIELDS} }} }}
"""
DELETE = """
mutation($id: ID!) { deleteStatusPage(id: $id) {
  ... on StatusPageDeleted { id slug } ... on NotFoundError { id } } }
"""
POST_UPDATE = """
mutation($input: PostIncidentUpdateInput!) { postIncidentUpdate(input: $input) {
  ... on IncidentUpdate { id status message createdAt }
  ... on ValidationError { field }
  ... on NotFoundError { id } } }
"""


def gid(kind: str, key: int) -> str:
    return base64.urlsafe_b64encode(f"{kind}:{key}".encode()).decode()


async def _seed(db: asyncpg.Connection) -> tuple[list[int], int]:
    ids = await insert_targets(
        db,
        [
            TargetSpec("http", url=SECRET_URL, name="Website", interval_seconds=3600),
            TargetSpec("icmp", host="10.9.8.7", name="Edge", interval_seconds=3600),
        ],
    )
    for target_id in ids:
        await seed_days(db, target_id, days=10, down_hours={2: 3})
    await db.execute("UPDATE target SET status = 'up' WHERE id = $1", ids[0])
    await db.execute("UPDATE target SET status = 'down' WHERE id = $1", ids[1])
    now = datetime.now(UTC)
    incident = await add_incident(db, ids[1], now - timedelta(hours=2), None)
    await add_maintenance(
        db, "Edge swap", ids[1], now + timedelta(hours=3), now + timedelta(hours=4)
    )
    return ids, incident


def _input(ids: list[int], **changes: Any) -> dict[str, Any]:
    return {
        "slug": "acme",
        "title": "Acme <status>",
        "description": "All of it",
        "groups": [
            {"name": "Web", "targetIds": [gid("Target", ids[0])]},
            {"name": "Network", "targetIds": [gid("Target", ids[1])]},
        ],
        "showLatency": True,
        "showUptimeWindows": ["LAST_24_HOURS", "LAST_7_DAYS"],
        **changes,
    }


async def test_mutations_queries_and_public_routes(
    api: Api, api_url: str, db: asyncpg.Connection
) -> None:
    ids, incident = await _seed(db)
    refused = await api.data(CREATE, input=_input(ids, slug="Bad Slug"))
    assert refused["createStatusPage"]["field"] == "slug"
    unknown = _input(ids, groups=[{"name": "x", "targetIds": [gid("Channel", 1)]}])
    refused = await api.data(CREATE, input=unknown)
    assert refused["createStatusPage"]["field"] == "groups.0.targetIds"
    assert await db.fetchval("SELECT count(*) FROM status_page") == 0

    page = (await api.data(CREATE, input=_input(ids)))["createStatusPage"]
    assert page["url"] == "/status/acme"
    assert page["groups"] == [
        {"name": "Web", "targets": [{"name": "Website"}]},
        {"name": "Network", "targets": [{"name": "Edge"}]},
    ]
    assert page["showUptimeWindows"] == ["LAST_24_HOURS", "LAST_7_DAYS"]
    listed = await api.data("{ statusPages { edges { node { slug } } } }")
    assert listed["statusPages"]["edges"] == [{"node": {"slug": "acme"}}]
    one = await api.data(
        '{ statusPage(slug: "acme") { title } nope: statusPage(slug: "x") { id } }'
    )
    assert one == {"statusPage": {"title": "Acme <status>"}, "nope": None}
    by_node = await api.data(
        "query($id: ID!, $gone: ID!) { node(id: $id) { id ... on StatusPage { slug } } "
        "gone: node(id: $gone) { id } }",
        id=page["id"],
        gone=gid("StatusPage", 999_999),
    )
    assert by_node == {"node": {"id": page["id"], "slug": "acme"}, "gone": None}

    for status, message in (("INVESTIGATING", "Looking into it"), ("IDENTIFIED", "A <bad> cable")):
        posted = await api.data(
            POST_UPDATE,
            input={"incidentId": gid("Incident", incident), "status": status, "message": message},
        )
        assert posted["postIncidentUpdate"]["status"] == status
    missing = await api.data(
        POST_UPDATE,
        input={"incidentId": gid("Incident", incident + 9), "status": "RESOLVED", "message": "x"},
    )
    assert missing["postIncidentUpdate"] == {"id": gid("Incident", incident + 9)}
    updates = await api.data(
        "query($id: ID!) { target(id: $id) { incidents { edges { node {"
        " updates { message } } } } } }",
        id=gid("Target", ids[1]),
    )
    node = updates["target"]["incidents"]["edges"][0]["node"]
    assert node["updates"] == [{"message": "Looking into it"}, {"message": "A <bad> cable"}]

    async with httpx.AsyncClient(base_url=api_url, timeout=10) as client:
        html = await client.get("/status/acme")
        assert html.status_code == 200, html.text
        assert html.headers["cache-control"] == "public, max-age=30"
        assert "default-src 'none'" in html.headers["content-security-policy"]
        assert "<script" not in html.text
        assert "Acme &lt;status&gt;" in html.text and "A &lt;bad&gt; cable" in html.text
        assert html.text.count('class="bars"') == 2
        assert "Edge swap" in html.text
        again = await client.get("/status/acme", headers={"if-none-match": html.headers["etag"]})
        assert again.status_code == 304
        plain = await client.get("/status/acme", headers={"accept-encoding": "identity"})
        assert plain.text == html.text and plain.headers["etag"] != html.headers["etag"]
        again = await client.get("/status/acme", headers={"if-none-match": plain.headers["etag"]})
        assert again.status_code == 304
        head = await client.head("/status/acme")
        assert (head.status_code, head.content) == (200, b"")
        assert head.headers["etag"] == html.headers["etag"]

        answer = await client.get("/status/acme.json")
        assert answer.headers["access-control-allow-origin"] == "*"
        data = answer.json()
        assert data["status"] == "down"
        edge = data["groups"][1]["targets"][0]
        assert edge["name"] == "Edge" and edge["status"] == "down" and len(edge["days"]) == 90
        assert [u["message"] for u in data["incidents"][0]["updates"]] == [
            "Looking into it",
            "A <bad> cable",
        ]
        assert data["incidents"][0]["status"] == "identified"
        assert data["maintenance"][0]["name"] == "Edge swap"

        atom = feedparser.parse((await client.get("/status/acme/feed.atom")).content)
        assert not atom.bozo, atom.bozo_exception
        assert atom.feed.title == "Acme <status>"
        assert [e.title for e in atom.entries] == ["Edge: Identified"]
        assert "A <bad> cable" in atom.entries[0].content[0].value
        rss = feedparser.parse((await client.get("/status/acme/feed.rss")).content)
        assert not rss.bozo and [e.title for e in rss.entries] == ["Edge: Identified"]
        texts = [html.text, str(data), str(atom), str(rss)]
        for text in texts:
            for secret in SECRETS:
                assert secret not in text

        # A change drops the cached page at once.
        changed = await api.data(UPDATE, input={"id": page["id"], "title": "Acme"})
        assert changed["updateStatusPage"]["title"] == "Acme"
        assert "<title>Acme</title>" in (await client.get("/status/acme")).text
        null = await api.data(UPDATE, input={"id": page["id"], "groups": None})
        assert null["updateStatusPage"]["field"] == "groups"

        deleted = await api.data(DELETE, id=page["id"])
        assert deleted["deleteStatusPage"] == {"id": page["id"], "slug": "acme"}
        for path in ("/status/acme", "/status/acme.json", "/status/acme/feed.atom"):
            assert (await client.get(path)).status_code == 404
    gone = await api.data(DELETE, id=page["id"])
    assert gone["deleteStatusPage"] == {"id": page["id"]}


async def test_pages_need_no_token_where_tokens_are_on(
    serve_api: ServeApi, database_url: str, db: asyncpg.Connection
) -> None:
    ids, _ = await _seed(db)
    await db.execute(
        "INSERT INTO status_page (slug, title) VALUES ('open', 'Open'); "
        "INSERT INTO status_page_group (status_page_id, position, name) "
        "SELECT id, 0, 'All' FROM status_page"
    )
    await db.execute(
        "INSERT INTO status_page_target (group_id, target_id, position) "
        "SELECT g.id, t, 0 FROM status_page_group AS g, unnest($1::bigint[]) AS t",
        ids[:1],
    )
    settings = Settings(database_url=database_url, api_token=SecretStr("s3cret-token"))
    async with (
        serve_api(database_url, settings) as base,
        httpx.AsyncClient(base_url=base) as client,
    ):
        for path in ("/status/open", "/status/open.json", "/status/open/feed.rss"):
            assert (await client.get(path)).status_code == 200, path
        assert "Website" in (await client.get("/status/open")).text
        refused = await client.post(
            "/graphql",
            json={"query": 'mutation { deleteStatusPage(id: "x") { __typename } }'},
        )
        assert refused.status_code in (200, 401) and "UNAUTHENTICATED" in refused.text
