"""What every request passes before the application sees it: the Host rule and the body limit.

- **Host rule.** Without ``UPTIME_API_TOKEN`` the API is meant for this machine only, but a web
  page elsewhere can make a browser here send requests to it under a name the page's owner
  controls (DNS rebinding: ``evil.example`` resolved to 127.0.0.1). Such requests carry that
  name in ``Host`` (and ``Origin``), so without a token only loopback names and addresses, and
  ``UPTIME_API_ALLOWED_HOSTS``, are answered. WebSockets, which browsers open across origins
  without asking, must also come from the same origin as their ``Host``, token or not.
- **Body limit.** A body longer than ``UPTIME_API_MAX_BODY_BYTES`` gets 413 before it is read:
  a declared ``Content-Length`` is checked up front, a chunked body is counted while it streams
  and cut at the limit.

Both are pure ASGI middleware written here: Starlette's TrustedHostMiddleware matches names
only (no 127.0.0.0/8, no bracketed IPv6, no Origin) and neither Starlette nor uvicorn limits a
request body. Every refusal and every client that goes away mid-request is one INFO line.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.requests import ClientDisconnect
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from strawberry.http.websocket_origin import is_same_origin

from uptime_core.runtime.settings import Settings, is_loopback

log = logging.getLogger("uptime.api")

# Liveness and readiness carry no data, and orchestrators probe them by whatever address they
# know the process by: they are answered under any Host.
UNGUARDED_PATHS = frozenset({"/healthz", "/readyz"})

_NAME = re.compile(r"[a-z0-9_-]+(\.[a-z0-9_-]+)*\.?")

HOST_NOT_ALLOWED = (
    "host not allowed: without UPTIME_API_TOKEN this server answers only loopback names "
    "(localhost, 127.0.0.1, [::1]) and the names in UPTIME_API_ALLOWED_HOSTS; set "
    "UPTIME_API_ALLOWED_HOSTS (or a token) to use another name\n"
)
ORIGIN_NOT_ALLOWED = (
    "origin not allowed: without UPTIME_API_TOKEN this server answers pages from loopback "
    "names and UPTIME_API_ALLOWED_HOSTS only\n"
)
CROSS_ORIGIN_WEBSOCKET = "cross-origin WebSocket refused: open it from a page of this server\n"


def host_of(authority: str) -> str | None:
    """The host of a ``Host`` value or an origin's authority (``name``, ``name:port``,
    ``[v6]:port``): lowercased, without port, brackets or a final dot; None if malformed."""
    authority = authority.strip().lower()
    if authority.startswith("["):
        host, bracket, port = authority[1:].partition("]")
        if not bracket or ":" not in host:
            return None
    else:
        host, colon, port = authority.partition(":")
        port = colon + port
        if not _NAME.fullmatch(host):
            return None
    if port and not (port.startswith(":") and port[1:].isdigit() and int(port[1:]) <= 65535):
        return None
    return host.removesuffix(".") or None


def origin_host(origin: str) -> str | None:
    """The host of an ``Origin`` (``http://name:port``); None for ``null`` or anything but an
    http(s) origin."""
    try:
        parts = urlsplit(origin.strip())
    except ValueError:
        return None
    return host_of(parts.netloc) if parts.scheme.lower() in ("http", "https") else None


def is_local_name(host: str) -> bool:
    """``localhost``, ``*.localhost``, 127.0.0.0/8 or ::1: names only this machine answers."""
    return is_loopback(host) or host.endswith(".localhost")


class HostGuard:
    """Without a token, only requests for this machine's names (or the allowed ones); and
    WebSockets only from pages of the origin they connect to."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.token_configured = settings.api_token is not None
        self.allowed_hosts = frozenset(h.removesuffix(".") for h in settings.api_allowed_hosts)

    def allowed(self, host: str | None) -> bool:
        return host is not None and (is_local_name(host) or host in self.allowed_hosts)

    def refusal(self, headers: Headers, websocket: bool) -> tuple[int, str, str] | None:
        """(status, answer, what to log) when the request must be refused."""
        host = headers.get("host")
        origin = headers.get("origin")
        if not self.token_configured:
            name = host_of(host or "")
            if not self.allowed(name):
                # Only a name host_of accepted is logged: the header is the client's text.
                return 421, HOST_NOT_ALLOWED, f"Host {name or '(malformed)'} not allowed"
            if origin is not None:
                origin_name = origin_host(origin)
                if not self.allowed(origin_name):
                    return 403, ORIGIN_NOT_ALLOWED, f"Origin {origin_name or '(other)'} not allowed"
        if (
            websocket
            and origin is not None
            and headers.get("sec-fetch-site") != "same-origin"
            and not is_same_origin(origin, host)
        ):
            return 403, CROSS_ORIGIN_WEBSOCKET, "cross-origin WebSocket"
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or scope["path"] in UNGUARDED_PATHS:
            await self.app(scope, receive, send)
            return
        refused = self.refusal(Headers(scope=scope), websocket=scope["type"] == "websocket")
        if refused is None:
            await self.app(scope, receive, send)
            return
        status, answer, reason = refused
        log.info("refused %s: %.100s (%d)", _request(scope), reason, status)
        await refuse(scope, receive, send, status, answer)


class BodyLimit:
    """413 for a request body longer than ``max_bytes``, before it is read; one INFO line for
    a client that goes away before sending the whole body (not a traceback)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        # The server has checked the header's syntax; a length it declares is what comes.
        if declared.isdigit() and int(declared) > self.max_bytes:
            await self.too_large(scope, receive, send, f"declared {int(declared)} bytes")
            return

        received = 0
        response_started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _BodyTooLarge
            return message

        async def watching_send(message: Message) -> None:
            nonlocal response_started
            response_started = response_started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, watching_send)
        except _BodyTooLarge:
            if response_started:
                log.info("cut %s: body over %d bytes", _request(scope), received)
                return
            await self.too_large(scope, receive, send, f"over {self.max_bytes} bytes streamed")
        except ClientDisconnect:
            log.info(
                "client went away during %s after %d bytes of its body", _request(scope), received
            )

    async def too_large(self, scope: Scope, receive: Receive, send: Send, what: str) -> None:
        log.info("refused %s: body %s (413)", _request(scope), what)
        answer = (
            f"request body too large: at most {self.max_bytes} bytes (UPTIME_API_MAX_BODY_BYTES)\n"
        )
        # Closing the connection stops the rest of the body from being sent, or read.
        await refuse(scope, receive, send, 413, answer, headers={"connection": "close"})


class _BodyTooLarge(Exception):
    """Raised from ``receive`` into the application, which stops reading."""


def _request(scope: Scope) -> str:
    # The path is the client's text, percent-decoded: quoted and cut, it stays one short line.
    method = "WebSocket" if scope["type"] == "websocket" else str(scope["method"])
    return f"{method} {str(scope['path'])[:100]!r}"


async def refuse(
    scope: Scope,
    receive: Receive,
    send: Send,
    status: int,
    text: str,
    headers: dict[str, str] | None = None,
) -> None:
    """Answer ``status`` with ``text``. A WebSocket handshake is refused with 403 and no
    text: uvicorn can send another answer (the ASGI denial response) but then logs an ERROR
    that the handshake never completed, for what is a client's mistake."""
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1008})
        return
    await PlainTextResponse(text, status_code=status, headers=headers)(scope, receive, send)
