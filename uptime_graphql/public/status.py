"""Public status pages, without a token: ``/status/{slug}`` (HTML, no script),
``/status/{slug}.json``, ``/status/{slug}/feed.atom`` and ``/status/{slug}/feed.rss``.

**Cache.** A page's data is read once (``uptime_core.public_status``, a handful of statements
side by side) and kept in this process for ``CACHE_SECONDS`` (30 s); each format is rendered
once per read, gzipped once, and served with ``Cache-Control: public, max-age=30`` and an
ETag (``If-None-Match`` gets 304). Requests that miss together wait for the one read. Changing
or deleting a page, or posting an incident update, through this process drops its cached
copies at once; other API replicas see the change within the 30 s.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import asyncpg
from fastapi import APIRouter, FastAPI, Request, Response
from starlette.datastructures import State

from uptime_core.public_status import PublicPage, public_page
from uptime_core.status_pages import page_by_slug
from uptime_graphql.public.status_feeds import render_atom, render_json, render_rss
from uptime_graphql.public.status_render import render_html

router = APIRouter()

CACHE_SECONDS = 30.0
MAX_CACHED_PAGES = 1000
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)
NOT_FOUND = "no status page at this address\n"


@dataclass
class Body:
    plain: bytes
    gzipped: bytes
    etag: str


@dataclass
class Cached:
    page: PublicPage
    expires: float
    bodies: dict[tuple[str, str], Body] = field(default_factory=dict)

    def body(self, kind: str, base: str, render: Callable[[], bytes]) -> Body:
        """The page as ``kind`` for links under ``base``, rendered the first time asked."""
        found = self.bodies.get((kind, base))
        if found is None:
            plain = render()
            found = Body(
                plain,
                gzip.compress(plain, compresslevel=5, mtime=0),
                '"' + hashlib.sha256(plain).hexdigest()[:24] + '"',
            )
            self.bodies[(kind, base)] = found
        return found


class StatusCache:
    """Pages by slug for ``seconds``; concurrent misses share one read."""

    def __init__(self, seconds: float = CACHE_SECONDS) -> None:
        self.seconds = seconds
        self.entries: dict[str, Cached] = {}
        self.loading: dict[str, asyncio.Future[Cached | None]] = {}
        self.generation = 0

    async def get(self, pool: asyncpg.Pool, slug: str) -> Cached | None:
        entry = self.entries.get(slug)
        if entry is not None and entry.expires > time.monotonic():
            return entry
        loading = self.loading.get(slug)
        if loading is None:
            loading = asyncio.ensure_future(self._load(pool, slug, self.generation))
            self.loading[slug] = loading
            loading.add_done_callback(lambda done: self._loaded(slug, done))
        return await asyncio.shield(loading)

    def _loaded(self, slug: str, done: asyncio.Future[Cached | None]) -> None:
        if self.loading.get(slug) is done:
            del self.loading[slug]

    async def _load(self, pool: asyncpg.Pool, slug: str, generation: int) -> Cached | None:
        row = await page_by_slug(pool, slug)
        if row is None:
            return None
        entry = Cached(await public_page(pool, row), time.monotonic() + self.seconds)
        if generation == self.generation:  # not invalidated meanwhile
            if len(self.entries) >= MAX_CACHED_PAGES:
                self.entries.clear()
            self.entries[slug] = entry
        return entry

    def invalidate(self) -> None:
        """Forget every page (a page's targets, names and incidents are shared)."""
        self.generation += 1
        self.entries.clear()
        self.loading.clear()


def status_cache(state: State) -> StatusCache:
    """The application's cache (made on first use)."""
    cache: StatusCache | None = getattr(state, "status_cache", None)
    if cache is None:
        cache = StatusCache()
        state.status_cache = cache
    return cache


def invalidate(app: FastAPI | None) -> None:
    """Drop the cached pages of ``app`` (None: nothing to do)."""
    if app is not None:
        status_cache(app.state).invalidate()


def _answer(request: Request, body: Body, media_type: str, *, html: bool = False) -> Response:
    gzipped = "gzip" in request.headers.get("accept-encoding", "")
    # Each encoding its own strong ETag (RFC 9110 8.8.3), either one answering If-None-Match.
    etag = body.etag[:-1] + '-gz"' if gzipped else body.etag
    headers = {
        "Cache-Control": f"public, max-age={int(CACHE_SECONDS)}",
        "ETag": etag,
        "Vary": "Accept-Encoding",
        "X-Content-Type-Options": "nosniff",
    }
    if html:
        headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        headers["Referrer-Policy"] = "no-referrer"
    else:
        # Public figures, no credentials: a widget on another site may read them.
        headers["Access-Control-Allow-Origin"] = "*"
    if body.etag[:-1] in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    if gzipped:
        headers["Content-Encoding"] = "gzip"
        return Response(body.gzipped, media_type=media_type, headers=headers)
    return Response(body.plain, media_type=media_type, headers=headers)


async def _cached(request: Request, slug: str) -> Cached | None:
    return await status_cache(request.app.state).get(request.app.state.pool, slug)


def _not_found() -> Response:
    return Response(NOT_FOUND, status_code=404, media_type="text/plain")


@router.api_route("/status/{name}", methods=["GET", "HEAD"], include_in_schema=False)
async def status_page(request: Request, name: str) -> Response:
    """The page as HTML, or as JSON for ``{slug}.json``."""
    slug, json_wanted = (name[:-5], True) if name.endswith(".json") else (name, False)
    cached = await _cached(request, slug)
    if cached is None:
        return _not_found()
    base = f"/status/{slug}"
    page = cached.page
    if json_wanted:
        body = cached.body("json", base, lambda: render_json(page, base).encode())
        return _answer(request, body, "application/json")
    body = cached.body("html", base, lambda: render_html(page, base).encode())
    return _answer(request, body, "text/html; charset=utf-8", html=True)


def _page_url(request: Request, slug: str) -> str:
    return f"{str(request.base_url).rstrip('/')}/status/{slug}"


@router.api_route("/status/{slug}/feed.atom", methods=["GET", "HEAD"], include_in_schema=False)
async def atom_feed(request: Request, slug: str) -> Response:
    return await _feed(request, slug, "atom", render_atom, "application/atom+xml")


@router.api_route("/status/{slug}/feed.rss", methods=["GET", "HEAD"], include_in_schema=False)
async def rss_feed(request: Request, slug: str) -> Response:
    return await _feed(request, slug, "rss", render_rss, "application/rss+xml")


async def _feed(
    request: Request,
    slug: str,
    kind: str,
    render: Callable[[PublicPage, str], bytes],
    media_type: str,
) -> Response:
    """A page's feed of ``kind``, rendered once per cached read of the page."""
    cached = await _cached(request, slug)
    if cached is None:
        return _not_found()
    url = _page_url(request, slug)
    page = cached.page
    body = cached.body(kind, url, lambda: render(page, url))
    return _answer(request, body, f"{media_type}; charset=utf-8")
