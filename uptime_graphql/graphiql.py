"""GraphiQL at ``GET /graphql`` for browsers, from files this app serves itself.

The page (``static/graphiql.html``, ``static/graphiql.js``) is ours; GraphiQL's own scripts
and styles are copied into ``static/vendor/`` from the npm registry by ``make assets`` or the
image build, and are not in the repository. Without them the page says how to get them.
"""

from __future__ import annotations

import re
from pathlib import Path

from fastapi import Request, Response
from fastapi.responses import HTMLResponse, PlainTextResponse
from starlette.exceptions import HTTPException
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

STATIC = Path(__file__).resolve().parent / "static"
STATIC_URL = "/static"

# Browsers load nothing from anywhere else; React and GraphiQL set inline styles, and
# GraphiQL's stylesheet carries its fonts and icons as data: URLs.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)

MISSING = """\
GraphiQL's files are not installed, so this page cannot show GraphiQL.

They come from the npm registry and are not part of the repository. In the repository, run

    make assets

(needs npm, from Node.js 18 or newer) and reload this page; `make run` does this too when npm
is installed. The container image (Dockerfile.api) always includes them.

Missing: {missing}

The API itself works without them: POST GraphQL requests to this URL, e.g.

    curl -s {url} -H 'content-type: application/json' -d '{{"query": "{{ version }}"}}'
"""


def referenced_files(html: str) -> list[str]:
    """The files under ``static/`` that the page loads, relative to ``static/``."""
    return re.findall(r'(?:src|href)="static/([^"]+)"', html)


def page(request: Request, *, token_required: bool) -> Response:
    """GraphiQL for a browser (Accept: text/html); otherwise the 404 a GET without a query
    has always had."""
    if "text/html" not in request.headers.get("accept", ""):
        return PlainTextResponse("Not Found", status_code=404)
    html = (STATIC / "graphiql.html").read_text()
    missing = [name for name in referenced_files(html) if not (STATIC / name).is_file()]
    if missing:
        text = MISSING.format(missing=", ".join(missing), url=str(request.url))
        return PlainTextResponse(text, status_code=503)
    html = html.replace("{token_required}", "true" if token_required else "false")
    headers = {
        "Content-Security-Policy": CONTENT_SECURITY_POLICY,
        "X-Content-Type-Options": "nosniff",
    }
    return HTMLResponse(html, headers=headers)


class GraphiQLFiles(StaticFiles):
    """The page's scripts and styles under ``/static``, with the page's headers; the page
    itself (a template) and dot files (the install stamp) only through ``page``."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        name = Path(path).name
        if name.startswith(".") or name.endswith(".html"):
            raise HTTPException(status_code=404)
        response = await super().get_response(path, scope)
        response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response
