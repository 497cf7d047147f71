"""GraphiQL at GET /graphql: served to browsers from this app's own files, nothing else
changed for GraphQL clients. Over real HTTP against the app."""

from __future__ import annotations

import shutil
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx
import pytest
from pydantic import SecretStr

from tests.graphql.conftest import ServeApi
from uptime_core.runtime.settings import Settings
from uptime_graphql import graphiql

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
CONTENT_TYPES = {".js": ("text/javascript", "application/javascript"), ".css": ("text/css",)}


class References(HTMLParser):
    """Every URL a page's tags point at (src, href)."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls += [(tag, value) for name, value in attrs if name in ("src", "href") and value]


def references(html: str) -> list[tuple[str, str]]:
    parser = References()
    parser.feed(html)
    return parser.urls


def assets_installed() -> None:
    vendor = graphiql.STATIC / "vendor"
    assert (vendor / "graphiql.min.js").is_file(), (
        f"GraphiQL's files are not in {vendor}: run `make assets` (needs npm)"
    )


async def test_a_browser_gets_graphiql_and_every_file_it_loads_from_this_server(
    api_url: str,
) -> None:
    assets_installed()
    async with httpx.AsyncClient(base_url=api_url) as client:
        response = await client.get("/graphql", headers=BROWSER)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/html")
        # The browser itself refuses anything from another origin.
        policy = response.headers["content-security-policy"]
        assert "default-src 'self'" in policy and "script-src 'self';" in policy
        page_url = str(response.url)
        urls = references(response.text)
        scripts = [url for tag, url in urls if tag == "script"]
        styles = [url for tag, url in urls if tag == "link" and url.endswith(".css")]
        assert len(scripts) >= 4 and styles, urls
        for tag, url in urls:
            absolute = urljoin(page_url, url)
            if absolute.startswith("data:"):
                continue
            assert urlsplit(absolute).netloc == urlsplit(page_url).netloc, (tag, url)
            asset = await client.get(absolute)
            assert asset.status_code == 200, (url, asset.status_code)
            suffix = Path(urlsplit(absolute).path).suffix
            if suffix in CONTENT_TYPES:
                assert asset.headers["content-type"].startswith(CONTENT_TYPES[suffix]), url
                assert len(asset.content) > 50, url
        bodies = {url: (await client.get(urljoin(page_url, url))).text for url in scripts}
    # The bundles define what the page's own script uses.
    loaded = "\n".join(bodies.values())
    for name in ("React=", "ReactDOM=", ".graphqlWs=", ".GraphiQL="):
        assert name in loaded.replace(" ", ""), name
    own = bodies[scripts[-1]]
    assert "graphqlWs.createClient" in own and "connectionParams" in own


async def test_the_page_names_no_other_host(api_url: str) -> None:
    assets_installed()
    async with httpx.AsyncClient(base_url=api_url) as client:
        html = (await client.get("/graphql", headers=BROWSER)).text
        own_script = (await client.get("/static/graphiql.js")).text
    for text in (html, own_script):
        assert "http://" not in text and "https://" not in text
    for _, url in references(html):
        assert "//" not in url, url
        assert not urlsplit(url).netloc and urlsplit(url).scheme in ("", "data"), url


async def test_static_files_carry_the_page_headers_and_hide_the_template(api_url: str) -> None:
    assets_installed()
    async with httpx.AsyncClient(base_url=api_url) as client:
        script = await client.get("/static/graphiql.js")
        assert script.status_code == 200
        assert script.headers["x-content-type-options"] == "nosniff"
        assert "default-src 'self'" in script.headers["content-security-policy"]
        # The page is a template served filled in at /graphql; the install stamp is no file.
        for hidden in ("/static/graphiql.html", "/static/vendor/.installed"):
            assert (await client.get(hidden)).status_code == 404, hidden


async def test_graphql_clients_see_no_change(api_url: str) -> None:
    async with httpx.AsyncClient(base_url=api_url) as client:
        # A GET without a query, not asking for HTML: 404, as before GraphiQL.
        plain = await client.get("/graphql", headers={"Accept": "*/*"})
        assert (plain.status_code, plain.text) == (404, "Not Found")
        by_get = await client.get("/graphql", params={"query": "{ version }"}, headers=BROWSER)
        assert by_get.status_code == 200 and by_get.json()["data"]["version"]
        by_post = await client.post("/graphql", json={"query": "{ version }"}, headers=BROWSER)
        assert by_post.status_code == 200 and by_post.json()["data"]["version"]


async def test_with_a_token_the_page_is_served_and_asks_for_it(
    serve_api: ServeApi, database_url: str
) -> None:
    assets_installed()
    settings = Settings(database_url=database_url, api_token=SecretStr("a-token"))
    async with serve_api(database_url, settings) as base, httpx.AsyncClient(base_url=base) as c:
        page = await c.get("/graphql", headers=BROWSER)
        assert page.status_code == 200 and 'data-token-required="true"' in page.text
        refused = await c.post("/graphql", json={"query": "{ version }"})
        assert refused.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    async with serve_api(database_url) as base, httpx.AsyncClient(base_url=base) as c:
        page = await c.get("/graphql", headers=BROWSER)
        assert 'data-token-required="false"' in page.text


async def test_without_graphiqls_files_the_page_says_how_to_get_them(
    api_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    static = tmp_path / "static"
    shutil.copytree(graphiql.STATIC, static, ignore=shutil.ignore_patterns("vendor"))
    monkeypatch.setattr(graphiql, "STATIC", static)
    async with httpx.AsyncClient(base_url=api_url) as client:
        response = await client.get("/graphql", headers=BROWSER)
        assert response.status_code == 503
        assert response.headers["content-type"].startswith("text/plain")
        assert "make assets" in response.text and "vendor/graphiql.min.js" in response.text
        # The API itself still answers.
        answer = await client.post("/graphql", json={"query": "{ version }"})
        assert answer.json()["data"]["version"]
