"""The dashboard's files as the API serves them: where, with which headers, and referring to
no other host."""

from __future__ import annotations

import re

import httpx

from uptime_graphql.dashboard import UI_DIRECTORY

# The SVG namespace is a name, never fetched.
NOT_FETCHED = {"http://www.w3.org/2000/svg"}


async def test_ui_is_served_with_a_same_origin_policy(api_url: str) -> None:
    async with httpx.AsyncClient(base_url=api_url) as client:
        bare = await client.get("/ui")
        assert bare.status_code in (301, 307) and bare.headers["location"].endswith("/ui/")
        page = await client.get("/ui/")
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        policy = page.headers["content-security-policy"]
        assert "default-src 'self'" in policy and "connect-src 'self'" in policy
        assert "'unsafe-inline'" not in policy
        assert page.headers["cache-control"] == "no-cache"
        for asset in re.findall(r'(?:src|href)="(/ui/[^"]+)"', page.text):
            response = await client.get(asset)
            assert response.status_code == 200, asset
            kind = "text/css" if asset.endswith(".css") else "text/javascript"
            assert response.headers["content-type"].startswith(kind), asset
        # Every module app.js imports, directly or through another module, is served.
        seen: set[str] = set()
        waiting = ["app.js"]
        while waiting:
            module = waiting.pop()
            if module in seen:
                continue
            seen.add(module)
            response = await client.get(f"/ui/{module}")
            assert response.status_code == 200, module
            assert response.headers["content-type"].startswith("text/javascript"), module
            waiting += re.findall(r'from "\./([\w.-]+\.js)"', response.text)
        on_disk = {path.name for path in UI_DIRECTORY.glob("*.js")}
        assert seen == on_disk, f"imported {sorted(seen)}, on disk {sorted(on_disk)}"
        assert (await client.get("/ui/%2e%2e/app.py")).status_code == 404


def test_no_file_refers_to_another_host() -> None:
    for path in UI_DIRECTORY.iterdir():
        urls = set(re.findall(r"(?:https?|wss?)://[^\s\"'`)]+", path.read_text()))
        assert urls <= NOT_FETCHED, (path.name, urls - NOT_FETCHED)
